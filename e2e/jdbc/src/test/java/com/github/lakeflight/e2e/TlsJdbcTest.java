package com.github.lakeflight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Flight SQL JDBC driver over TLS (useEncryption with the test CA as tlsRootCerts) and mutual
 * TLS (clientCertificate and clientKey), with certificates openssl made for the test.
 */
class TlsJdbcTest {
  private static Path pki;
  private static LakeflightServer tlsServer;
  private static LakeflightServer mtlsServer;

  private static void openssl(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(pki.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl hung");
    assertEquals(0, p.exitValue(), "openssl " + String.join(" ", args) + ": " + out);
  }

  /** A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate. */
  private static void makePki() throws Exception {
    pki = Files.createTempDirectory("lakeflight-jdbc-pki-");
    String[] ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"};
    List<String> ca = new ArrayList<>(List.of("req", "-x509"));
    ca.addAll(List.of(ec));
    ca.addAll(List.of("-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=jdbc test CA"));
    openssl(ca.toArray(String[]::new));
    Files.writeString(
        pki.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    Files.writeString(pki.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
    for (String leaf : List.of("server", "client")) {
      List<String> req = new ArrayList<>(List.of("req"));
      req.addAll(List.of(ec));
      req.addAll(List.of("-keyout", leaf + ".key", "-out", leaf + ".csr", "-subj", "/CN=jdbc " + leaf));
      openssl(req.toArray(String[]::new));
      openssl("x509", "-req", "-in", leaf + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
          "-out", leaf + ".crt", "-days", "2", "-extfile", leaf + ".ext");
    }
  }

  @BeforeAll
  static void startServers() throws Exception {
    makePki();
    String cert = pki.resolve("server.crt").toString();
    String key = pki.resolve("server.key").toString();
    tlsServer = LakeflightServer.startOwn("--tls-cert-file", cert, "--tls-key-file", key);
    mtlsServer = LakeflightServer.startOwn(
        "--tls-cert-file", cert, "--tls-key-file", key, "--tls-client-ca-file", pki.resolve("ca.crt").toString());
  }

  @AfterAll
  static void stopServers() throws Exception {
    for (LakeflightServer s : new LakeflightServer[] {tlsServer, mtlsServer}) {
      if (s != null) {
        s.close();
      }
    }
  }

  private static String url(LakeflightServer s, boolean clientCert) {
    String u = "jdbc:arrow-flight-sql://" + s.flightAddr() + "/?useEncryption=true&tlsRootCerts="
        + pki.resolve("ca.crt");
    if (clientCert) {
      u += "&clientCertificate=" + pki.resolve("client.crt") + "&clientKey=" + pki.resolve("client.key");
    }
    return u;
  }

  private static String scalar(String url, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(url);
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }

  @Test
  void queriesOverTls() throws Exception {
    assertEquals("499500", scalar(url(tlsServer, false), "SELECT sum(range) FROM range(1000)"));
    // The plaintext URL every other test uses reaches no TLS server.
    assertThrows(SQLException.class, () -> scalar(tlsServer.jdbcUrl(), "SELECT 1"));
  }

  @Test
  void mutualTlsNeedsTheClientCertificate() throws Exception {
    assertEquals("7", scalar(url(mtlsServer, true), "SELECT 7"));
    assertThrows(SQLException.class, () -> scalar(url(mtlsServer, false), "SELECT 7"));
  }
}
