package com.github.lakeflight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * Session state through the Flight SQL JDBC driver: SET, temp tables and time travel
 * (lakeflight_as_of) persist across the statements of one connection and never reach another.
 */
class SessionsJdbcTest extends ServerTest {
  private static String scalar(Connection c, String sql) throws SQLException {
    // A statement of its own for every query: state must live in the session, not the statement.
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }

  private static void exec(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  @Test
  void sessionStatePersistsAndStaysPrivate() throws Exception {
    try (Connection c = connect()) {
      exec(c, "CREATE TABLE silver.jdbc_sess_tt AS SELECT 1 AS id");
      String first = scalar(c, "SELECT max(snapshot_id) FROM iceberg_snapshots('silver.jdbc_sess_tt')");
      exec(c, "INSERT INTO silver.jdbc_sess_tt VALUES (2)");

      exec(c, "SET TimeZone = 'America/Lima'");
      exec(c, "CREATE TEMP TABLE jdbc_scratch AS SELECT 42 AS x");
      exec(c, "SET lakeflight_as_of = '" + first + "'");

      assertEquals("America/Lima", scalar(c, "SELECT current_setting('TimeZone')"));
      assertEquals("42", scalar(c, "SELECT x FROM jdbc_scratch"));
      assertEquals("1", scalar(c, "SELECT count(*) FROM silver.jdbc_sess_tt"), "as of the first snapshot");

      try (Connection other = connect()) {
        assertNotEquals("America/Lima", scalar(other, "SELECT current_setting('TimeZone')"));
        assertEquals("2", scalar(other, "SELECT count(*) FROM silver.jdbc_sess_tt"), "current data");
        SQLException e =
            assertThrows(SQLException.class, () -> scalar(other, "SELECT x FROM jdbc_scratch"));
        assertTrue(e.getMessage().contains("jdbc_scratch"), e.getMessage());
      }

      assertEquals("1", scalar(c, "SELECT count(*) FROM silver.jdbc_sess_tt"));
      exec(c, "RESET lakeflight_as_of");
      assertEquals("2", scalar(c, "SELECT count(*) FROM silver.jdbc_sess_tt"));
    }
  }
}
