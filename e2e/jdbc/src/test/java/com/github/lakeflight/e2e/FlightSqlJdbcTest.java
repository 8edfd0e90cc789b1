package com.github.lakeflight.e2e;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** lakeflight seen through the Arrow Flight SQL JDBC driver, the way a BI tool sees it. */
class FlightSqlJdbcTest extends ServerTest {
  @Test
  void connectsAndRunsAQuery() throws Exception {
    try (Connection c = connect();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT 1 AS one")) {
      assertFalse(c.isClosed());
      assertTrue(rs.next());
      assertEquals(1, rs.getInt("one"));
      assertFalse(rs.next());
    }
  }

  @Test
  void connectionIsValid() throws Exception {
    // DBeaver and connection pools call isValid (GetSessionOptions) all the time.
    try (Connection c = connect()) {
      assertTrue(c.isValid(5));
    }
  }

  @Test
  void catalogConnectionProperty() throws Exception {
    // BI tools pass the default catalog as a URL property; it arrives as a session option.
    Connection c = DriverManager.getConnection(server.jdbcUrl() + "&catalog=lakehouse");
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT current_database() AS db, current_schema() AS s")) {
      assertTrue(rs.next());
      assertEquals("lakehouse", rs.getString("db"));
    } finally {
      try {
        c.close();
      } catch (SQLException e) {
        // Driver 18.3.0 closes its channel before sending CloseSession when a catalog
        // is set (apache/arrow-java#66, #863): a client-side error, not the server's.
        if (!messageChain(e).contains("Channel shutdown invoked")) {
          throw e;
        }
      }
    }
  }

  @Test
  void catalogsAndSchemas() throws Exception {
    try (Connection c = connect()) {
      DatabaseMetaData md = c.getMetaData();
      Set<String> catalogs = new HashSet<>();
      try (ResultSet rs = md.getCatalogs()) {
        while (rs.next()) {
          catalogs.add(rs.getString("TABLE_CAT"));
        }
      }
      assertTrue(catalogs.contains("lakehouse"), "catalogs: " + catalogs);

      Set<String> schemas = new HashSet<>();
      try (ResultSet rs = md.getSchemas("lakehouse", null)) {
        while (rs.next()) {
          assertEquals("lakehouse", rs.getString("TABLE_CATALOG"));
          schemas.add(rs.getString("TABLE_SCHEM"));
        }
      }
      assertTrue(schemas.containsAll(List.of("bronze", "silver", "gold")), "lakehouse schemas: " + schemas);

      try (ResultSet rs = md.getSchemas()) {
        int n = 0;
        while (rs.next()) {
          n++;
        }
        assertTrue(n >= 3, "getSchemas() returned " + n + " rows");
      }
    }
  }

  @Test
  void tablesAndColumnsOfATable() throws Exception {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      st.execute(
          "CREATE TEMP TABLE e2e_jdbc_cols (id INTEGER NOT NULL, name VARCHAR,"
              + " amount DECIMAL(12, 2), ts TIMESTAMP, ok BOOLEAN)");
      DatabaseMetaData md = c.getMetaData();

      try (ResultSet rs = md.getTables(null, null, "%", null)) {
        while (rs.next()) {
          rs.getString("TABLE_NAME"); // walking every table must work
        }
      }
      String cat = null;
      String schem = null;
      try (ResultSet rs = md.getTables(null, null, "e2e_jdbc_cols", null)) {
        assertTrue(rs.next(), "getTables does not list the session's temp table e2e_jdbc_cols");
        cat = rs.getString("TABLE_CAT");
        schem = rs.getString("TABLE_SCHEM");
        assertEquals("e2e_jdbc_cols", rs.getString("TABLE_NAME"));
      }

      Map<String, Integer> types = new HashMap<>();
      List<String> names = new ArrayList<>();
      try (ResultSet rs = md.getColumns(cat, schem, "e2e_jdbc_cols", "%")) {
        while (rs.next()) {
          names.add(rs.getString("COLUMN_NAME"));
          types.put(rs.getString("COLUMN_NAME"), rs.getInt("DATA_TYPE"));
          if ("amount".equals(rs.getString("COLUMN_NAME"))) {
            assertEquals(12, rs.getInt("COLUMN_SIZE"), "amount precision");
            assertEquals(2, rs.getInt("DECIMAL_DIGITS"), "amount scale");
          }
        }
      }
      assertEquals(List.of("id", "name", "amount", "ts", "ok"), names);
      assertEquals(Types.INTEGER, types.get("id"));
      assertEquals(Types.VARCHAR, types.get("name"));
      assertEquals(Types.DECIMAL, types.get("amount"));
      assertEquals(Types.TIMESTAMP, types.get("ts"));
      assertEquals(Types.BOOLEAN, types.get("ok"));
    }
  }

  @Test
  void typeInfoAndPrimaryKeys() throws Exception {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      DatabaseMetaData md = c.getMetaData();
      // Driver 18.3.0 does not forward getTypeInfo to GetXdbcTypeInfo (Avatica's
      // default answers an empty result), so only check that it answers.
      try (ResultSet rs = md.getTypeInfo()) {
        while (rs.next()) {
          rs.getString("TYPE_NAME");
        }
      }

      st.execute("CREATE TEMP TABLE e2e_jdbc_pk (id INTEGER PRIMARY KEY, v VARCHAR)");
      try (ResultSet rs = md.getPrimaryKeys(null, null, "e2e_jdbc_pk")) {
        while (rs.next()) {
          rs.getString("COLUMN_NAME");
        }
      }
      try (ResultSet rs = md.getPrimaryKeys("lakehouse", "bronze", "no_such_table")) {
        assertFalse(rs.next());
      }
    }
  }

  private static final List<String> METADATA_PREFIXES =
      List.of("supports", "get", "is", "nulls", "stores", "uses", "all", "does", "data", "max");

  @Test
  void everyNoArgMetadataMethodAnswers() throws Exception {
    try (Connection c = connect()) {
      DatabaseMetaData md = c.getMetaData();
      Method[] methods = DatabaseMetaData.class.getMethods();
      Arrays.sort(methods, Comparator.comparing(Method::getName));
      List<String> failures = new ArrayList<>();
      int called = 0;
      for (Method m : methods) {
        if (m.getParameterCount() != 0
            || Modifier.isStatic(m.getModifiers())
            || METADATA_PREFIXES.stream().noneMatch(m.getName()::startsWith)) {
          continue;
        }
        called++;
        try {
          Object result = m.invoke(md);
          if (result instanceof ResultSet) {
            try (ResultSet rs = (ResultSet) result) {
              while (rs.next()) {
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                  rs.getObject(i);
                }
              }
            }
          }
        } catch (InvocationTargetException e) {
          failures.add(m.getName() + ": " + describe(e.getCause()));
        } catch (SQLException e) {
          failures.add(m.getName() + " (reading its result set): " + e);
        }
      }
      assertTrue(called > 100, "only " + called + " metadata methods found");
      assertTrue(
          failures.isEmpty(),
          failures.size() + " of " + called + " DatabaseMetaData methods threw:\n  " + String.join("\n  ", failures));
    }
  }

  @Test
  void typedValues() throws Exception {
    String sql =
        "SELECT 42::INTEGER AS i32, 9007199254740993::BIGINT AS i64,"
            + " 123.45::DECIMAL(10, 2) AS dec, 12345678901234567890.123456789::DECIMAL(38, 9) AS dec38,"
            + " 170141183460469231731687303715884105727::HUGEINT AS huge,"
            + " 1.5::DOUBLE AS dbl, 'héllo, wörld' AS s, DATE '2024-02-29' AS d,"
            + " TIMESTAMP '2024-02-29 13:14:15.123456' AS ts,"
            + " TIMESTAMPTZ '2024-02-29 13:14:15.123456+00' AS tstz,"
            + " true AS b, NULL::INTEGER AS ni, NULL::VARCHAR AS ns, NULL::DECIMAL(10, 2) AS nd,"
            + " NULL::TIMESTAMP AS nts, NULL::DOUBLE AS ndbl, NULL::BOOLEAN AS nb";
    try (Connection c = connect();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next());
      List<Executable> checks = new ArrayList<>();
      checks.add(() -> assertEquals(42, rs.getInt("i32"), "i32"));
      checks.add(() -> assertEquals(9007199254740993L, rs.getLong("i64"), "i64"));
      checks.add(() -> assertEquals(new BigDecimal("123.45"), rs.getBigDecimal("dec"), "dec"));
      checks.add(
          () -> assertEquals(new BigDecimal("12345678901234567890.123456789"), rs.getBigDecimal("dec38"), "dec38"));
      checks.add(
          () -> assertEquals(
              0,
              new BigDecimal("170141183460469231731687303715884105727").compareTo(rs.getBigDecimal("huge")),
              "huge"));
      checks.add(() -> assertEquals(1.5, rs.getDouble("dbl"), "dbl"));
      checks.add(() -> assertEquals("héllo, wörld", rs.getString("s"), "s"));
      checks.add(() -> assertEquals(LocalDate.of(2024, 2, 29), rs.getDate("d").toLocalDate(), "d"));
      checks.add(
          () -> assertEquals(
              LocalDateTime.of(2024, 2, 29, 13, 14, 15, 123456000),
              rs.getTimestamp("ts").toLocalDateTime(),
              "ts (naive timestamp)"));
      checks.add(
          () -> assertEquals(
              Instant.parse("2024-02-29T13:14:15.123456Z"), rs.getTimestamp("tstz").toInstant(), "tstz"));
      checks.add(() -> assertTrue(rs.getBoolean("b"), "b"));
      checks.add(
          () -> {
            assertEquals(0, rs.getInt("ni"), "ni");
            assertTrue(rs.wasNull(), "ni wasNull");
          });
      checks.add(
          () -> {
            assertNull(rs.getString("ns"), "ns");
            assertTrue(rs.wasNull(), "ns wasNull");
          });
      checks.add(
          () -> {
            assertNull(rs.getBigDecimal("nd"), "nd");
            assertTrue(rs.wasNull(), "nd wasNull");
          });
      checks.add(
          () -> {
            assertNull(rs.getTimestamp("nts"), "nts");
            assertTrue(rs.wasNull(), "nts wasNull");
          });
      checks.add(
          () -> {
            assertEquals(0.0, rs.getDouble("ndbl"), "ndbl");
            assertTrue(rs.wasNull(), "ndbl wasNull");
          });
      checks.add(
          () -> {
            assertFalse(rs.getBoolean("nb"), "nb");
            assertTrue(rs.wasNull(), "nb wasNull");
          });
      assertAll("typed values", checks.stream());
      assertFalse(rs.next());
    }
  }

  @Test
  void resultSetMetaDataDescribesColumns() throws Exception {
    // BI tools size and format columns from these (a DECIMAL shown with scale 0 loses its cents).
    String sql =
        "SELECT 42::INTEGER AS i32, 9007199254740993::BIGINT AS i64, 123.45::DECIMAL(10, 2) AS dec,"
            + " 'x' AS s, 1.5::DOUBLE AS dbl, true AS b, DATE '2024-02-29' AS d,"
            + " TIMESTAMP '2024-02-29 13:14:15' AS ts";
    try (Connection c = connect();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      ResultSetMetaData meta = rs.getMetaData();
      assertEquals(8, meta.getColumnCount());
      assertAll(
          "result set metadata",
          () -> assertEquals("i32", meta.getColumnLabel(1), "label"),
          () -> assertEquals(Types.INTEGER, meta.getColumnType(1), "i32 JDBC type"),
          () -> assertEquals(Types.BIGINT, meta.getColumnType(2), "i64 JDBC type"),
          () -> assertEquals(Types.DECIMAL, meta.getColumnType(3), "dec JDBC type"),
          () -> assertEquals(10, meta.getPrecision(3), "dec precision"),
          () -> assertEquals(2, meta.getScale(3), "dec scale"),
          () -> assertEquals(Types.VARCHAR, meta.getColumnType(4), "s JDBC type"),
          () -> assertEquals(Types.DOUBLE, meta.getColumnType(5), "dbl JDBC type"),
          () -> assertEquals(Types.BOOLEAN, meta.getColumnType(6), "b JDBC type"),
          () -> assertEquals(Types.DATE, meta.getColumnType(7), "d JDBC type"),
          () -> assertEquals(Types.TIMESTAMP, meta.getColumnType(8), "ts JDBC type"));
    }
  }

  @Test
  void largeResultStreams() throws Exception {
    try (Connection c = connect();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT i, i * 2 AS j FROM range(1000000) t(i)")) {
      long rows = 0;
      long sum = 0;
      while (rs.next()) {
        rows++;
        sum += rs.getLong(2);
      }
      assertEquals(1_000_000L, rows);
      assertEquals(999_999L * 1_000_000L, sum);
    }
  }

  @Test
  void preparedStatementWithParameters() throws Exception {
    try (Connection c = connect();
        // The JDBC driver builds parameter vectors from the announced parameter
        // types and cannot bind a value to a parameter DuckDB left untyped
        // (SELECT ? + 1): give such parameters a type.
        PreparedStatement ps = c.prepareStatement("SELECT CAST(? AS INTEGER) + 1 AS answer")) {
      ps.setInt(1, 41);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        assertEquals(42L, rs.getLong(1));
        assertFalse(rs.next());
      }
      ps.setInt(1, 1);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        assertEquals(2L, rs.getLong(1), "re-executed with a new parameter");
      }
    }
    try (Connection c = connect();
        PreparedStatement ps = c.prepareStatement("SELECT ?::VARCHAR || '!' AS s, ?::DOUBLE * 2 AS d")) {
      ps.setString(1, "hi");
      ps.setDouble(2, 2.5);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        assertEquals("hi!", rs.getString(1));
        assertEquals(5.0, rs.getDouble(2));
      }
    }
  }

  @Test
  void preparedInsertIntoTempTable() throws Exception {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      st.execute("CREATE TEMP TABLE e2e_jdbc_ins (a INTEGER, b VARCHAR)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO e2e_jdbc_ins VALUES (?, ?)")) {
        for (int i = 1; i <= 3; i++) {
          ps.setInt(1, i);
          if (i == 2) {
            ps.setNull(2, Types.VARCHAR);
          } else {
            ps.setString(2, "v" + i);
          }
          assertEquals(1, ps.executeUpdate(), "rows inserted by row " + i);
        }
      }
      try (ResultSet rs = st.executeQuery("SELECT a, b FROM e2e_jdbc_ins ORDER BY a")) {
        List<String> rows = new ArrayList<>();
        while (rs.next()) {
          rows.add(rs.getInt(1) + "=" + rs.getString(2));
        }
        assertEquals(List.of("1=v1", "2=null", "3=v3"), rows);
      }
    }
  }

  @Test
  void statementCancelStopsARunningQuery() throws Exception {
    // The "stop" button of a BI tool: Statement.cancel() from another thread.
    String slow =
        "SELECT count(*) FROM range(1000000) a(x), range(1000000) b(y)"
            + " WHERE (a.x * 31 + b.y) % 1000003 = 7";
    try (Connection c = connect(); Statement st = c.createStatement()) {
      CompletableFuture<Object> run =
          CompletableFuture.supplyAsync(
              () -> {
                try (ResultSet rs = st.executeQuery(slow)) {
                  return rs.next() ? rs.getLong(1) : null;
                } catch (SQLException e) {
                  return e;
                }
              });
      Thread.sleep(1500);
      assertFalse(run.isDone(), "slow query finished early: " + (run.isDone() ? run.get() : ""));
      long cancelledAt = System.nanoTime();
      st.cancel();
      Object outcome = run.get(10, TimeUnit.SECONDS);
      double took = (System.nanoTime() - cancelledAt) / 1e9;
      assertTrue(outcome instanceof SQLException, "cancelled query returned " + outcome);
      assertTrue(took < 5, "cancel took " + took + "s to reach the caller");
    }
    try (Connection c = connect();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT 1")) {
      assertTrue(rs.next());
    }
  }

  @Test
  void syntaxErrorCarriesDuckDbMessage() throws Exception {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      SQLException e = assertThrows(SQLException.class, () -> st.executeQuery("SELCT 1").next());
      String messages = messageChain(e);
      assertTrue(messages.contains("syntax error"), "SQLException messages: " + messages);
      try (ResultSet rs = st.executeQuery("SELECT 2")) {
        assertTrue(rs.next(), "connection unusable after an error");
        assertEquals(2, rs.getInt(1));
      }
    }
  }

  /** One short line per failure; the driver's NPE on a missing SqlInfo id is named as such. */
  private static String describe(Throwable t) {
    String msg = String.valueOf(t.getMessage());
    if (t instanceof NullPointerException && msg.contains("getSqlInfoAndCacheIfCacheIsEmpty")) {
      return "NullPointerException: the server did not register the SqlInfo id this method reads";
    }
    if (msg.length() > 200) {
      msg = msg.substring(0, 200) + "...";
    }
    return t.getClass().getSimpleName() + ": " + msg;
  }

  private static String messageChain(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable x = t; x != null; x = x.getCause()) {
      sb.append(x.getClass().getSimpleName()).append(": ").append(x.getMessage()).append(" | ");
    }
    return sb.toString();
  }
}
