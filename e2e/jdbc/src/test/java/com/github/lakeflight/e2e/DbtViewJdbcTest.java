package com.github.lakeflight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.File;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A view built by dbt (e2e/dbt_smoke's status_summary, over the table model stg_orders) and
 * read by another client, the JDBC driver, after the server restarted: listed as a VIEW beside
 * dbt's tables, with its columns, and its rows what its SQL computes from the seed CSV; then
 * replaced over JDBC and seen so by a second connection.
 */
class DbtViewJdbcTest extends ServerTest {
  private static final Path PROJECT =
      Paths.get(System.getProperty("basedir", "."), "..", "dbt_smoke").toAbsolutePath().normalize();
  private static final long DBT_TIMEOUT_SECONDS = 300;

  /** One row of status_summary: per status of the orders not cancelled, their count and total. */
  private record Summary(String status, long orders, BigDecimal total) {}

  /** status_summary's rows, computed from the seed the way its SQL and stg_orders' say. */
  private static List<Summary> expectedSummary() throws IOException {
    List<String> lines = Files.readAllLines(PROJECT.resolve("seeds/orders.csv"), StandardCharsets.UTF_8);
    assertEquals("id,customer,status,amount,ordered_at", lines.get(0), "the seed's header");
    Map<String, Summary> byStatus = new TreeMap<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",", -1);
      if (!f[2].equals("cancelled")) {
        byStatus.merge(
            f[2],
            new Summary(f[2], 1, new BigDecimal(f[3])),
            (a, b) -> new Summary(a.status(), a.orders() + 1, a.total().add(b.total())));
      }
    }
    return List.copyOf(byStatus.values());
  }

  private static List<Summary> summaries(Statement st, String sql) throws SQLException {
    List<Summary> rows = new ArrayList<>();
    try (ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        rows.add(new Summary(rs.getString(1), rs.getLong(2), rs.getBigDecimal(3)));
      }
    }
    return rows;
  }

  /** name → TABLE_TYPE of the lakehouse namespace's relations, as getTables lists them. */
  private static Map<String, String> relationTypes(DatabaseMetaData md, String schema, String... types)
      throws SQLException {
    Map<String, String> out = new TreeMap<>();
    try (ResultSet rs = md.getTables("lakehouse", schema, "%", types.length == 0 ? null : types)) {
      while (rs.next()) {
        out.put(rs.getString("TABLE_NAME"), rs.getString("TABLE_TYPE"));
      }
    }
    return out;
  }

  /** The venv's dbt: LAKEFLIGHT_DBT, else the pom's lakeflight.dbt (e2e/.venv/bin/dbt). */
  private static Path dbtBinary() {
    String bin = System.getenv("LAKEFLIGHT_DBT");
    if (bin == null || bin.isBlank()) {
      bin = System.getProperty("lakeflight.dbt", "../.venv/bin/dbt");
    }
    Path dbt = Paths.get(bin).toAbsolutePath().normalize();
    if (!Files.isExecutable(dbt)) {
      fail("no dbt at " + dbt + ": run e2e/setup.sh (`make setup`), which installs dbt and the"
          + " lakeflight adapter into e2e/.venv, or set LAKEFLIGHT_DBT");
    }
    return dbt;
  }

  /**
   * Runs dbt on e2e/dbt_smoke against the server, the way a user does, with its profile, target
   * and logs in tmp so that nothing is written into the project; asserts it exits 0.
   */
  private static void dbt(Path dbt, Path tmp, String... args) throws Exception {
    Path profiles = Files.createDirectories(tmp.resolve("profiles"));
    String port = server.flightAddr().substring(server.flightAddr().lastIndexOf(':') + 1);
    Files.writeString(
        profiles.resolve("profiles.yml"),
        String.join(
            "\n",
            "lakeflight_smoke:",
            "  target: dev",
            "  outputs:",
            "    dev:",
            "      type: lakeflight",
            "      host: 127.0.0.1",
            "      port: " + port,
            "      schema: silver",
            "      threads: 2",
            ""));
    List<String> command = new ArrayList<>(List.of(dbt.toString()));
    command.addAll(List.of(args));
    command.addAll(
        List.of(
            "--profiles-dir", profiles.toString(),
            "--target-path", tmp.resolve("target").toString(),
            "--log-path", tmp.resolve("logs").toString()));
    Path output = tmp.resolve("dbt.out");
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(PROJECT.toFile())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("DBT_") || k.startsWith("LAKEFLIGHT_"));
    env.put("DO_NOT_TRACK", "1");
    env.put("DBT_USE_COLORS", "false");
    Process p = pb.start();
    if (!p.waitFor(DBT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      fail("dbt " + String.join(" ", args) + " did not finish within " + DBT_TIMEOUT_SECONDS
          + "s:\n" + readOrWhy(output));
    }
    assertEquals(
        0,
        p.exitValue(),
        () -> "dbt " + String.join(" ", args) + " exit code:\n" + readOrWhy(output)
            + "\nlakeflight log:\n" + server.logTail());
  }

  private static String readOrWhy(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "(" + e + ")";
    }
  }

  /** The metadata files of the Iceberg views named ns.name in the server's warehouse. */
  private static List<Path> viewMetadata(String ns, String name) throws IOException {
    Path dir = server.dataDir().resolve("warehouse").resolve(ns + ".db");
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(
              p -> p.getFileName().toString().endsWith(".metadata.json")
                  && dir.relativize(p).getName(0).toString().startsWith(name + ".view-"))
          .sorted()
          .collect(Collectors.toList());
    }
  }

  @Test
  void dbtViewIsReadAfterARestartAndReplacedOverJdbc(@TempDir Path tmp) throws Exception {
    assumeFalse(
        server.isExternal(),
        "restarts the server, which it cannot do to the one running at LAKEFLIGHT_FLIGHT_ADDR");
    Path dbt = dbtBinary();
    List<Summary> expected = expectedSummary();
    assertEquals(2, expected.size(), "placed and shipped orders in the seed: " + expected);

    // Every node but the data test that is meant to fail (e2e/test_dbt.py runs that one).
    dbt(dbt, tmp, "build", "--exclude", "tag:deliberately_failing");
    server.restart();

    String view = "SELECT status, orders, total FROM silver.status_summary ORDER BY status";
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      DatabaseMetaData md = c.getMetaData();
      assertEquals(
          Map.of(
              "customer_totals", "TABLE",
              "orders_by_day", "TABLE",
              "orders_log", "TABLE",
              "status_summary", "VIEW",
              "stg_orders", "TABLE"),
          relationTypes(md, "silver"),
          () -> "silver after the restart; lakeflight log:\n" + server.logTail());
      assertEquals(Map.of("orders", "TABLE"), relationTypes(md, "bronze"), "bronze");
      assertEquals(Map.of("status_summary", "VIEW"), relationTypes(md, "silver", "VIEW"), "views");

      List<String> names = new ArrayList<>();
      List<Integer> types = new ArrayList<>();
      try (ResultSet rs = md.getColumns("lakehouse", "silver", "status_summary", "%")) {
        while (rs.next()) {
          names.add(rs.getString("COLUMN_NAME"));
          types.add(rs.getInt("DATA_TYPE"));
        }
      }
      assertEquals(List.of("status", "orders", "total"), names, "status_summary's columns");
      assertEquals(List.of(Types.VARCHAR, Types.BIGINT, Types.DECIMAL), types, "their types");

      assertEquals(expected, summaries(st, view), "status_summary against the seed");
      assertEquals(
          summaries(
              st,
              "SELECT status, count(*), sum(amount) FROM silver.stg_orders"
                  + " GROUP BY status ORDER BY status"),
          summaries(st, view),
          "status_summary against its SQL over stg_orders");
    }

    // Stored as an Iceberg view: one metadata file, whose SQL (DuckDB's dialect) reads stg_orders.
    List<Path> metadata = viewMetadata("silver", "status_summary");
    assertEquals(1, metadata.size(), "status_summary's view metadata files: " + metadata);
    String json = Files.readString(metadata.get(0));
    assertTrue(json.contains("\"dialect\":\"duckdb\"") && json.contains("stg_orders"), json);

    try (Connection writer = connect();
        Connection reader = connect();
        Statement w = writer.createStatement();
        Statement r = reader.createStatement()) {
      assertEquals(expected, summaries(r, view), "the second connection before the replace");
      w.execute(
          "CREATE OR REPLACE VIEW silver.status_summary AS"
              + " SELECT status, count(*) AS orders, sum(amount) AS total FROM silver.stg_orders"
              + " WHERE status = 'shipped' GROUP BY status");
      List<Summary> shipped =
          expected.stream().filter(s -> s.status().equals("shipped")).collect(Collectors.toList());
      assertEquals(1, shipped.size());
      assertEquals(shipped, summaries(r, view), "the second connection after the replace");
      assertEquals(
          Map.of("status_summary", "VIEW"),
          relationTypes(reader.getMetaData(), "silver", "VIEW"),
          "views after the replace");
    }
  }
}
