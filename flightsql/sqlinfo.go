//go:build duckdb_arrow

package flightsql

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	afsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// GetSqlInfo: the server's capabilities. Every id Flight SQL defines is
// registered (the JDBC driver unboxes missing ones into
// NullPointerExceptions and a request naming one unknown id fails whole),
// each with the value type the drivers read: int64 for the max-length ids
// and the default isolation level (JDBC reads Long), int32 for bitmasks and
// ordinals.

// SqlInfo bitmask values (FlightSql.proto enums, as bit positions).
const (
	groupByUnrelated     = 1 << 0 // SQL_GROUP_BY_UNRELATED
	groupByBeyondSelect  = 1 << 1 // SQL_GROUP_BY_BEYOND_SELECT
	grammarMinimum       = 1 << 0 // SQL_MINIMUM_GRAMMAR
	grammarCore          = 1 << 1 // SQL_CORE_GRAMMAR
	grammarExtended      = 1 << 2 // SQL_EXTENDED_GRAMMAR
	ansi92Entry          = 1 << 0
	ansi92Intermediate   = 1 << 1
	ansi92Full           = 1 << 2
	elementInProcedure   = 1 << 0 // SQL_ELEMENT_IN_PROCEDURE_CALLS
	elementInIndex       = 1 << 1 // SQL_ELEMENT_IN_INDEX_DEFINITIONS
	elementInPrivilege   = 1 << 2 // SQL_ELEMENT_IN_PRIVILEGE_DEFINITIONS
	subqueryComparisons  = 1 << 0
	subqueryExists       = 1 << 1
	subqueryIns          = 1 << 2
	subqueryQuantifieds  = 1 << 3
	unionPlain           = 1 << 0 // SQL_UNION
	unionAll             = 1 << 1 // SQL_UNION_ALL
	resultSetForwardOnly = 1 << 1 // SQL_RESULT_SET_TYPE_FORWARD_ONLY (0 is UNSPECIFIED)
	concurrencyReadOnly  = 1 << 1 // SQL_RESULT_SET_CONCURRENCY_READ_ONLY
	isolationNone        = 1 << 0 // SQL_TRANSACTION_NONE
	outerJoinsFull       = 2      // SqlOuterJoinsSupportLevel.SQL_FULL_OUTER_JOINS (ordinal)
	transactionNone      = 0      // JDBC Connection.TRANSACTION_NONE
)

// sqlInfoValues returns every SqlInfo id with lakeflight's answer. kw and fn
// are DuckDB's keywords and function lists.
func (s *Server) sqlInfoValues(kw []string, fn functionLists) map[afsql.SqlInfo]any {
	convert := sqlConversions()
	return map[afsql.SqlInfo]any{
		// Server
		afsql.SqlInfoFlightSqlServerName:                        "lakeflight",
		afsql.SqlInfoFlightSqlServerVersion:                     s.opts.Version,
		afsql.SqlInfoFlightSqlServerArrowVersion:                arrow.PkgVersion,
		afsql.SqlInfoFlightSqlServerReadOnly:                    false,
		afsql.SqlInfoFlightSqlServerSql:                         true,
		afsql.SqlInfoFlightSqlServerSubstrait:                   false,
		afsql.SqlInfoFlightSqlServerSubstraitMinVersion:         "",
		afsql.SqlInfoFlightSqlServerSubstraitMaxVersion:         "",
		afsql.SqlInfoFlightSqlServerTransaction:                 int32(afsql.SqlTransactionNone),
		afsql.SqlInfoFlightSqlServerCancel:                      true,
		afsql.SqlInfoFlightSqlServerBulkIngestion:               true,
		afsql.SqlInfoFlightSqlServerIngestTransactionsSupported: false,
		afsql.SqlInfoFlightSqlServerStatementTimeout:            int32(0), // no statement timeout (0 = none)
		afsql.SqlInfoFlightSqlServerTransactionTimeout:          int32(0),

		// SQL language
		afsql.SqlInfoDDLCatalog:                             false, // ATTACH is refused
		afsql.SqlInfoDDLSchema:                              true,
		afsql.SqlInfoDDLTable:                               true,
		afsql.SqlInfoIdentifierCase:                         int64(afsql.SqlCaseSensitivityCaseInsensitive),
		afsql.SqlInfoIdentifierQuoteChar:                    `"`,
		afsql.SqlInfoQuotedIdentifierCase:                   int64(afsql.SqlCaseSensitivityCaseInsensitive),
		afsql.SqlInfoAllTablesAreASelectable:                true,
		afsql.SqlInfoNullOrdering:                           int64(afsql.SqlNullOrderingSortAtEnd),
		afsql.SqlInfoKeywords:                               kw,
		afsql.SqlInfoNumericFunctions:                       fn.numeric,
		afsql.SqlInfoStringFunctions:                        fn.str,
		afsql.SqlInfoSystemFunctions:                        fn.system,
		afsql.SqlInfoDateTimeFunctions:                      fn.datetime,
		afsql.SqlInfoSearchStringEscape:                     `\`,
		afsql.SqlInfoExtraNameChars:                         "",
		afsql.SqlInfoSupportsColumnAliasing:                 true,
		afsql.SqlInfoNullPlusNullIsNull:                     true,
		afsql.SqlInfoSupportsConvert:                        convert,
		afsql.SqlInfoSupportsTableCorrelationNames:          true,
		afsql.SqlInfoSupportsDifferentTableCorrelationNames: false,
		afsql.SqlInfoSupportsExpressionsInOrderBy:           true,
		afsql.SqlInfoSupportsOrderByUnrelated:               true,
		afsql.SqlInfoSupportedGroupBy:                       int32(groupByUnrelated | groupByBeyondSelect),
		afsql.SqlInfoSupportsLikeEscapeClause:               true,
		afsql.SqlInfoSupportsNonNullableColumns:             true,
		afsql.SqlInfoSupportedGrammar:                       int32(grammarMinimum | grammarCore | grammarExtended),
		afsql.SqlInfoANSI92SupportedLevel:                   int32(ansi92Entry | ansi92Intermediate | ansi92Full),
		afsql.SqlInfoSupportsIntegrityEnhancementFacility:   false,
		afsql.SqlInfoOuterJoinsSupportLevel:                 int32(outerJoinsFull),
		afsql.SqlInfoSchemaTerm:                             "schema",
		afsql.SqlInfoProcedureTerm:                          "procedure",
		afsql.SqlInfoCatalogTerm:                            "catalog",
		afsql.SqlInfoCatalogAtStart:                         true,
		// Procedures name tables in strings and indexes exist only on TEMP
		// tables: schema and catalog names go in neither.
		afsql.SqlInfoSchemasSupportedActions:       int32(0),
		afsql.SqlInfoCatalogsSupportedActions:      int32(0),
		afsql.SqlInfoSupportedPositionedCommands:   int32(0),
		afsql.SqlInfoSelectForUpdateSupported:      false,
		afsql.SqlInfoStoredProceduresSupported:     false,
		afsql.SqlInfoSupportedSubqueries:           int32(subqueryComparisons | subqueryExists | subqueryIns | subqueryQuantifieds),
		afsql.SqlInfoCorrelatedSubqueriesSupported: true,
		afsql.SqlInfoSupportedUnions:               int32(unionPlain | unionAll),

		// Limits: 0 means "no limit or unknown" (JDBC semantics)
		afsql.SqlInfoMaxBinaryLiteralLen:     int64(0),
		afsql.SqlInfoMaxCharLiteralLen:       int64(0),
		afsql.SqlInfoMaxColumnNameLen:        int64(0),
		afsql.SqlInfoMaxColumnsInGroupBy:     int64(0),
		afsql.SqlInfoMaxColumnsInIndex:       int64(0),
		afsql.SqlInfoMaxColumnsInOrderBy:     int64(0),
		afsql.SqlInfoMaxColumnsInSelect:      int64(0),
		afsql.SqlInfoMaxColumnsInTable:       int64(0),
		afsql.SqlInfoMaxConnections:          int64(0),
		afsql.SqlInfoMaxCursorNameLen:        int64(0),
		afsql.SqlInfoMaxIndexLen:             int64(0),
		afsql.SqlInfoDBSchemaNameLen:         int64(0),
		afsql.SqlInfoMaxProcedureNameLen:     int64(0),
		afsql.SqlInfoMaxCatalogNameLen:       int64(0),
		afsql.SqlInfoMaxRowSize:              int64(0),
		afsql.SqlInfoMaxRowSizeIncludesBlobs: true,
		afsql.SqlInfoMaxStatementLen:         int64(0),
		afsql.SqlInfoMaxStatements:           int64(0),
		afsql.SqlInfoMaxTableNameLen:         int64(0),
		afsql.SqlInfoMaxTablesInSelect:       int64(0),
		afsql.SqlInfoMaxUsernameLen:          int64(0),

		// Transactions: none; every statement commits on its own.
		afsql.SqlInfoDefaultTransactionIsolation:           int64(transactionNone),
		afsql.SqlInfoTransactionsSupported:                 false,
		afsql.SqlInfoSupportedTransactionsIsolationlevels:  int32(isolationNone),
		afsql.SqlInfoDataDefinitionCausesTransactionCommit: false,
		afsql.SqlInfoDataDefinitionsInTransactionsIgnored:  false,

		// Result sets: forward-only, read-only.
		afsql.SqlInfoSupportedResultSetTypes:                             int32(resultSetForwardOnly),
		afsql.SqlInfoSupportedConcurrenciesForResultSetUnspecified:       int32(0),
		afsql.SqlInfoSupportedConcurrenciesForResultSetForwardOnly:       int32(concurrencyReadOnly),
		afsql.SqlInfoSupportedConcurrenciesForResultSetScrollSensitive:   int32(0),
		afsql.SqlInfoSupportedConcurrenciesForResultSetScrollInsensitive: int32(0),
		afsql.SqlInfoBatchUpdatesSupported:                               true, // a prepared update runs once per parameter row
		afsql.SqlInfoSavePointsSupported:                                 false,
		afsql.SqlInfoNamedParametersSupported:                            false,
		afsql.SqlInfoLocatorsUpdateCopy:                                  false,
		afsql.SqlInfoStoredFunctionsUsingCallSyntaxSupported:             false,
	}
}

// sqlConversions: CAST pairs DuckDB supports between the JDBC-visible types.
func sqlConversions() map[int32][]int32 {
	var (
		numeric = []afsql.SqlSupportsConvert{afsql.SqlConvertBigInt, afsql.SqlConvertBit, afsql.SqlConvertDecimal,
			afsql.SqlConvertFloat, afsql.SqlConvertInteger, afsql.SqlConvertNumeric, afsql.SqlConvertReal,
			afsql.SqlConvertSmallInt, afsql.SqlConvertTinyInt}
		text     = []afsql.SqlSupportsConvert{afsql.SqlConvertChar, afsql.SqlConvertVarchar, afsql.SqlConvertLongVarchar}
		binary   = []afsql.SqlSupportsConvert{afsql.SqlConvertBinary, afsql.SqlConvertVarbinary, afsql.SqlConvertLongVarbinary}
		temporal = []afsql.SqlSupportsConvert{afsql.SqlConvertDate, afsql.SqlConvertTime, afsql.SqlConvertTimestamp}
	)
	ids := func(groups ...[]afsql.SqlSupportsConvert) []int32 {
		var out []int32
		for _, g := range groups {
			for _, c := range g {
				out = append(out, int32(c))
			}
		}
		return out
	}
	m := map[int32][]int32{}
	for _, c := range numeric {
		m[int32(c)] = ids(numeric, text)
	}
	for _, c := range text {
		m[int32(c)] = ids(numeric, text, binary, temporal)
	}
	for _, c := range binary {
		m[int32(c)] = ids(text, binary)
	}
	m[int32(afsql.SqlConvertDate)] = ids(text, []afsql.SqlSupportsConvert{afsql.SqlConvertDate, afsql.SqlConvertTimestamp})
	m[int32(afsql.SqlConvertTime)] = ids(text, []afsql.SqlSupportsConvert{afsql.SqlConvertTime})
	m[int32(afsql.SqlConvertTimestamp)] = ids(text, temporal)
	return m
}

type functionLists struct{ numeric, str, system, datetime []string }

// registerSqlInfo reads DuckDB's keywords and scalar functions through a
// short-lived engine session and registers every SqlInfo id.
func (s *Server) registerSqlInfo(ctx context.Context) error {
	c, err := s.q.NewSession(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	list := func(sql string) ([]string, error) {
		rows, err := queryRows(ctx, c, s.mem, sql)
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(rows))
		for _, r := range rows {
			out = append(out, r[0])
		}
		return out, nil
	}
	kw, err := list(`SELECT DISTINCT upper(keyword_name) FROM duckdb_keywords() ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("reading keywords: %w", err)
	}
	const scalar = `SELECT DISTINCT upper(function_name) FROM duckdb_functions()
		WHERE function_type = 'scalar' AND function_name NOT LIKE '\_\_%' ESCAPE '\' AND `
	var fn functionLists
	for _, q := range []struct {
		dst  *[]string
		cond string
	}{
		{&fn.numeric, `return_type IN ('TINYINT','SMALLINT','INTEGER','BIGINT','HUGEINT','FLOAT','DOUBLE','DECIMAL') AND function_name ~ '^[a-z_0-9]+$'`},
		{&fn.str, `return_type = 'VARCHAR' AND function_name ~ '^[a-z_0-9]+$'`},
		{&fn.system, `function_name IN ('current_catalog','current_database','current_schema','current_schemas','current_user','session_user','user','version','current_setting','txid_current')`},
		{&fn.datetime, `return_type IN ('DATE','TIME','TIMESTAMP','TIMESTAMP WITH TIME ZONE','INTERVAL','TIME WITH TIME ZONE') AND function_name ~ '^[a-z_0-9]+$'`},
	} {
		if *q.dst, err = list(scalar + q.cond + ` ORDER BY 1`); err != nil {
			return fmt.Errorf("reading functions: %w", err)
		}
	}
	for id, v := range s.sqlInfoValues(kw, fn) {
		if err := s.RegisterSqlInfo(id, v); err != nil {
			return fmt.Errorf("sql info %s: %w", id, err)
		}
	}
	return nil
}

// queryRows runs sql in session c and returns every value as text ("" for
// NULL): DuckDB's keyword and function lists.
func queryRows(ctx context.Context, c conn, mem memory.Allocator, sql string) ([][]string, error) {
	st, err := c.Prepare(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	rdr, err := st.Query(ctx, nil, mem)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	var out [][]string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			r := make([]string, rec.NumCols())
			for j, col := range rec.Columns() {
				if col.IsNull(i) {
					continue
				}
				r[j] = strings.Clone(col.ValueStr(i)) // ValueStr may alias the batch
			}
			out = append(out, r)
		}
	}
	return out, rdr.Err()
}
