package com.github.lakeflight.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SQL writes, time travel and snapshot metadata through the Flight SQL JDBC driver. */
class SnapshotsJdbcTest extends ServerTest {
  private static long scalar(Statement st, String sql) throws SQLException {
    try (ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getLong(1);
    }
  }

  @Test
  void writesMakeSnapshotsThatStayReadable() throws Exception {
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      assertEquals(
          5,
          st.executeUpdate(
              "CREATE TABLE silver.jdbc_orders AS"
                  + " SELECT range AS id, CAST(range * 1.5 AS DECIMAL(10, 2)) AS amount FROM range(5)"));
      assertEquals(2, st.executeUpdate("DELETE FROM silver.jdbc_orders WHERE id < 2"));
      try (PreparedStatement ps =
          c.prepareStatement("UPDATE silver.jdbc_orders SET amount = ? WHERE id = ?")) {
        ps.setBigDecimal(1, new BigDecimal("99.50"));
        ps.setLong(2, 4);
        assertEquals(1, ps.executeUpdate());
      }
      assertEquals(
          2,
          st.executeUpdate(
              "MERGE INTO silver.jdbc_orders AS o USING (VALUES (3, 7.25), (10, 1.00)) AS s(id, amount)"
                  + " ON o.id = s.id WHEN MATCHED THEN UPDATE SET amount = s.amount"
                  + " WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.amount)"));

      List<Long> snapshots = new ArrayList<>();
      List<String> operations = new ArrayList<>();
      try (ResultSet rs =
          st.executeQuery(
              "SELECT snapshot_id, operation FROM iceberg_snapshots('silver.jdbc_orders')"
                  + " ORDER BY sequence_number")) {
        while (rs.next()) {
          snapshots.add(rs.getLong(1));
          operations.add(rs.getString(2));
        }
      }
      assertEquals(List.of("append", "delete", "overwrite", "overwrite"), operations);

      long[] counts = {5, 3, 3, 4};
      String[] sums = {"15.00", "13.50", "107.00", "110.75"};
      for (int i = 0; i < snapshots.size(); i++) {
        String at = " AT (VERSION => " + snapshots.get(i) + ")";
        assertEquals(counts[i], scalar(st, "SELECT count(*) FROM silver.jdbc_orders" + at), at);
        try (ResultSet rs = st.executeQuery("SELECT sum(amount) FROM silver.jdbc_orders" + at)) {
          assertTrue(rs.next());
          assertEquals(new BigDecimal(sums[i]), rs.getBigDecimal(1), at);
        }
      }
      assertEquals(4, scalar(st, "SELECT count(*) FROM silver.jdbc_orders"));

      st.execute("CALL iceberg_create_tag('silver.jdbc_orders', 'first', " + snapshots.get(0) + ")");
      assertEquals(5, scalar(st, "SELECT count(*) FROM silver.jdbc_orders AT (VERSION => 'first')"));
      st.execute(
          "CALL iceberg_rollback_to_snapshot('silver.jdbc_orders', " + snapshots.get(1) + ")");
      assertEquals(3, scalar(st, "SELECT count(*) FROM silver.jdbc_orders"));

      SQLException e =
          assertThrows(
              SQLException.class,
              () -> scalar(st, "SELECT count(*) FROM silver.jdbc_orders AT (VERSION => 42)"));
      assertTrue(
          e.getMessage().contains("table silver.jdbc_orders has no snapshot 42"), e.getMessage());
      e =
          assertThrows(
              SQLException.class,
              () -> st.executeUpdate("INSERT INTO nowhere.t VALUES (1)"));
      assertTrue(e.getMessage().contains("namespace \"nowhere\" does not exist"), e.getMessage());
    }
  }

  @Test
  void copyOnWriteAndRenameKeepTheTableReadable() throws Exception {
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      st.executeUpdate("CREATE TABLE silver.jdbc_cow AS SELECT range AS id, range * 2 AS v FROM range(10)");
      st.executeUpdate(
          "CALL iceberg_set_property('silver.jdbc_cow', 'write.merge.mode', 'copy-on-write')");
      assertEquals(
          2,
          st.executeUpdate(
              "MERGE INTO silver.jdbc_cow AS t USING (VALUES (3, -1), (42, 84)) AS s(id, v)"
                  + " ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v"
                  + " WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)"));
      assertEquals(
          0,
          scalar(
              st,
              "SELECT count(*) FROM iceberg_files('silver.jdbc_cow') WHERE content <> 'data'"));
      st.executeUpdate("ALTER TABLE silver.jdbc_cow RENAME TO jdbc_cow2");
      assertEquals(11, scalar(st, "SELECT count(*) FROM silver.jdbc_cow2"));
      assertEquals(-1, scalar(st, "SELECT v FROM silver.jdbc_cow2 WHERE id = 3"));
      long first =
          scalar(
              st,
              "SELECT snapshot_id FROM iceberg_snapshots('silver.jdbc_cow2')"
                  + " ORDER BY sequence_number LIMIT 1");
      assertEquals(
          6, scalar(st, "SELECT v FROM silver.jdbc_cow2 AT (VERSION => " + first + ") WHERE id = 3"));
      SQLException gone =
          assertThrows(SQLException.class, () -> st.executeQuery("SELECT * FROM silver.jdbc_cow"));
      assertTrue(gone.getMessage().contains("jdbc_cow"), gone.getMessage());
    }
  }
}
