package com.github.lakeflight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A lakeflight server for the tests: either one already running at
 * LAKEFLIGHT_FLIGHT_ADDR (system property lakeflight.flight.addr), or the binary at
 * LAKEFLIGHT_BIN (system property lakeflight.bin) started on free loopback ports with
 * a temporary data directory, and stopped with SIGTERM. A started one can be restarted on
 * the same data directory and ports.
 */
final class LakeflightServer implements AutoCloseable {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final long STOP_TIMEOUT_SECONDS = 10;

  private final String flightAddr;
  // The rest are null when the server is external.
  private final Path binary;
  private final String httpAddr;
  private final Path dataDir;
  private final Path log; // every run's output, appended
  private final List<String> extraArgs;
  private Process process;

  private LakeflightServer(
      String flightAddr, Path binary, String httpAddr, Path dataDir, Path log, List<String> extraArgs) {
    this.flightAddr = flightAddr;
    this.binary = binary;
    this.httpAddr = httpAddr;
    this.dataDir = dataDir;
    this.log = log;
    this.extraArgs = extraArgs;
  }

  static LakeflightServer start() throws Exception {
    String external = setting("lakeflight.flight.addr", "LAKEFLIGHT_FLIGHT_ADDR");
    if (external != null && !external.isBlank()) {
      return new LakeflightServer(
          external.replaceFirst("^grpc(\\+tcp)?://", ""), null, null, null, null, List.of());
    }
    return startOwn();
  }

  /**
   * A server started here whatever LAKEFLIGHT_FLIGHT_ADDR says, with extra serve flags (a test
   * that needs its own configuration).
   */
  static LakeflightServer startOwn(String... extraArgs) throws Exception {
    Path binary = binary();
    Path dataDir = Files.createTempDirectory("lakeflight-jdbc-");
    Path log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
    String flightAddr = "127.0.0.1:" + freePort();
    String httpAddr = "127.0.0.1:" + freePort();
    LakeflightServer server =
        new LakeflightServer(flightAddr, binary, httpAddr, dataDir, log, List.of(extraArgs));
    server.launch();
    return server;
  }

  /** The lakeflight binary: LAKEFLIGHT_BIN, else the pom's lakeflight.bin. */
  static Path binary() {
    // The environment wins over the pom's default property.
    String bin = System.getenv("LAKEFLIGHT_BIN");
    if (bin == null || bin.isBlank()) {
      bin = System.getProperty("lakeflight.bin", "../../bin/lakeflight");
    }
    Path binary = Paths.get(bin).toAbsolutePath().normalize();
    if (!Files.isExecutable(binary)) {
      fail("no lakeflight binary at " + binary + ": run `make build` or set LAKEFLIGHT_BIN");
    }
    return binary;
  }

  /** The server's log so far; "" when the server is external. */
  String logText() throws IOException {
    return log == null ? "" : Files.readString(log);
  }

  private void launch() throws Exception {
    List<String> cmd = new ArrayList<>(
        List.of(
            binary.toString(),
            "serve",
            "--data-dir",
            dataDir.toString(),
            "--flight-addr",
            flightAddr,
            "--http-addr",
            httpAddr));
    cmd.addAll(extraArgs);
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("LAKEFLIGHT_")); // flags decide
    process = pb.start();
    waitReady();
  }

  /**
   * Stops the server with SIGTERM, asserting a clean exit as {@link #close} does, then starts it
   * again on the same data directory and ports and waits until it is ready.
   */
  void restart() throws Exception {
    if (isExternal()) {
      fail("cannot restart the external server at " + flightAddr);
    }
    stop();
    launch();
  }

  /** Whether the server is one already running at LAKEFLIGHT_FLIGHT_ADDR, not started here. */
  boolean isExternal() {
    return binary == null;
  }

  /** The server's --data-dir; null when the server is external. */
  Path dataDir() {
    return dataDir;
  }

  String flightAddr() {
    return flightAddr;
  }

  String jdbcUrl() {
    return "jdbc:arrow-flight-sql://" + flightAddr + "/?useEncryption=false";
  }

  private static String setting(String property, String env) {
    String v = System.getProperty(property);
    return v != null && !v.isBlank() ? v : System.getenv(env);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void waitReady() throws Exception {
    if (extraArgs.contains("--tls-cert-file")) {
      waitReadyLogged();
      return;
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest req =
        HttpRequest.newBuilder(URI.create("http://" + httpAddr + "/ready"))
            .timeout(Duration.ofSeconds(2))
            .build();
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        fail("lakeflight exited with code " + process.exitValue() + " before it was ready; log:\n" + logTail());
      }
      try {
        HttpResponse<Void> resp = http.send(req, HttpResponse.BodyHandlers.discarding());
        if (resp.statusCode() == 200) {
          return;
        }
        last = "HTTP " + resp.statusCode();
      } catch (IOException e) {
        last = e.toString();
      }
      Thread.sleep(100);
    }
    process.destroyForcibly();
    fail("lakeflight not ready after " + READY_TIMEOUT + " (" + last + "); log:\n" + logTail());
  }

  /**
   * A TLS server (whose /ready this plain HTTP client cannot ask) is ready once this run's log
   * says so.
   */
  private void waitReadyLogged() throws Exception {
    long before = Files.size(log);
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        fail("lakeflight exited with code " + process.exitValue() + " before it was ready; log:\n" + logTail());
      }
      String text = Files.readString(log);
      if (text.length() > before && text.substring((int) before).contains("lakeflight ready")) {
        return;
      }
      Thread.sleep(100);
    }
    process.destroyForcibly();
    fail("lakeflight did not log that it was ready after " + READY_TIMEOUT + "; log:\n" + logTail());
  }

  String logTail() {
    if (log == null) {
      return "(external server)";
    }
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Stops the server with SIGTERM, asserts it exited with code 0 in time, and removes its data. */
  @Override
  public void close() throws Exception {
    if (isExternal()) {
      return;
    }
    try {
      stop();
    } finally {
      deleteTree(dataDir);
    }
  }

  private void stop() throws Exception {
    if (!process.isAlive()) {
      fail("lakeflight died during the tests (code " + process.exitValue() + "); log:\n" + logTail());
    }
    process.destroy(); // SIGTERM
    if (!process.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      fail("lakeflight did not stop within " + STOP_TIMEOUT_SECONDS + "s of SIGTERM; log:\n" + logTail());
    }
    assertEquals(0, process.exitValue(), () -> "lakeflight exit code on SIGTERM; log:\n" + logTail());
  }

  private static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    List<Path> paths = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(paths::add);
    }
    for (Path p : paths) {
      Files.deleteIfExists(p);
    }
  }
}
