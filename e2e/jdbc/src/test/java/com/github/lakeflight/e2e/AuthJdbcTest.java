package com.github.lakeflight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Flight SQL JDBC driver's user and password against a server with users configured: the
 * driver's handshake gets a bearer token, each role gets what it may do, a wrong password is
 * refused, and neither password reaches the server's log.
 */
class AuthJdbcTest {
  private static final String ADA_PASSWORD = "ada-Jdbc-Secret-1";
  private static final String RITA_PASSWORD = "rita-Jdbc-Secret-2";
  private static LakeflightServer server;

  private static String hash(String password) throws Exception {
    Process p = new ProcessBuilder(LakeflightServer.binary().toString(), "hash-password").start();
    p.getOutputStream().write((password + "\n").getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "hash-password hung");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.exitValue(), new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    return out;
  }

  @BeforeAll
  static void startServer() throws Exception {
    Path config = Files.createTempFile("lakeflight-jdbc-auth-", ".yaml");
    Files.writeString(
        config,
        "auth:\n  users:\n"
            + "    - name: ada\n      password_hash: '" + hash(ADA_PASSWORD) + "'\n      role: admin\n"
            + "    - name: rita\n      password_hash: '" + hash(RITA_PASSWORD) + "'\n      role: reader\n");
    server = LakeflightServer.startOwn("--config", config.toString());
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      String log = server.logText();
      server.close();
      assertFalse(log.contains(ADA_PASSWORD) || log.contains(RITA_PASSWORD), "a password is in the log");
    }
  }

  private static Connection connect(String user, String password) throws SQLException {
    return DriverManager.getConnection(server.jdbcUrl(), user, password);
  }

  private static String scalar(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }

  @Test
  void rolesThroughTheDriversHandshake() throws Exception {
    try (Connection ada = connect("ada", ADA_PASSWORD);
        Statement st = ada.createStatement()) {
      st.execute("CREATE TABLE silver.jdbc_auth AS SELECT range AS id FROM range(4)");
      assertEquals("4", scalar(ada, "SELECT count(*) FROM silver.jdbc_auth"));
    }
    try (Connection rita = connect("rita", RITA_PASSWORD)) {
      assertEquals("4", scalar(rita, "SELECT count(*) FROM silver.jdbc_auth"));
      SQLException e =
          assertThrows(
              SQLException.class,
              () -> {
                try (Statement st = rita.createStatement()) {
                  st.executeUpdate("DELETE FROM silver.jdbc_auth WHERE id = 0");
                }
              });
      assertTrue(e.getMessage().contains("reader"), e.getMessage());
      assertEquals("4", scalar(rita, "SELECT count(*) FROM silver.jdbc_auth"));
    }
  }

  @Test
  void wrongPasswordAndNoCredentialsAreRefused() {
    SQLException wrong =
        assertThrows(
            SQLException.class, () -> scalar(connect("rita", "guess-Not-It"), "SELECT 1"));
    assertFalse(wrong.getMessage().contains("guess-Not-It"), wrong.getMessage());
    assertThrows(
        SQLException.class,
        () -> {
          try (Connection anon = DriverManager.getConnection(server.jdbcUrl())) {
            scalar(anon, "SELECT 1");
          }
        });
  }
}
