package com.github.lakeflight.e2e;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The base of every test class: one lakeflight server per class, and JDBC connections to it. */
abstract class ServerTest {
  static LakeflightServer server;

  @BeforeAll
  static void startServer() throws Exception {
    server = LakeflightServer.start();
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      server.close();
      server = null;
    }
  }

  static Connection connect() throws SQLException {
    return DriverManager.getConnection(server.jdbcUrl());
  }
}
