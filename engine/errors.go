//go:build duckdb_arrow

package engine

import (
	"encoding/json"
	"errors"
	"strings"

	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/lakeflight/lakeflight/internal/errkind"
)

// Sentinel errors. Every error the engine returns for a failed statement
// wraps exactly one of them (test with errors.Is); the error text is
// DuckDB's own message, so callers can show it to the user as is. Each
// carries its errkind.Kind, which is all the transports look at.
var (
	ErrInvalidSQL  = errkind.New(errkind.InvalidArgument, "invalid sql")        // parser, binder, conversion, bad parameter
	ErrNotFound    = errkind.New(errkind.NotFound, "not found")                 // unknown table, schema, catalog, function, column source
	ErrPermission  = errkind.New(errkind.PermissionDenied, "permission denied") // sandbox: file access outside the warehouse, locked settings
	ErrUnsupported = errkind.New(errkind.Unsupported, "unsupported")            // statement kinds lakeflight refuses (COPY, ATTACH, writes to Iceberg tables)
	ErrCanceled    = errkind.New(errkind.Canceled, "canceled")                  // interrupted by ctx or by the client
	ErrConstraint  = errkind.New(errkind.FailedPrecondition, "constraint violation")
	ErrInternal    = errkind.New(errkind.Internal, "internal error")

	// Added beyond the original contract.
	ErrAlreadyExists = errkind.New(errkind.AlreadyExists, "already exists")             // CREATE of an existing (temp) object
	ErrSchemaChanged = errkind.New(errkind.FailedPrecondition, "result schema changed") // a prepared statement now yields other columns: prepare again
	ErrBusy          = errkind.New(errkind.FailedPrecondition, "session busy")          // session state change while a result of the session is streaming
	ErrClosed        = errkind.New(errkind.Unavailable, "engine or session closed")     // use after Close
	ErrTooLarge      = errkind.New(errkind.ResourceExhausted, "too large")              // over a configured limit (SQL text size)
	ErrOutOfMemory   = errkind.New(errkind.ResourceExhausted, "out of memory")          // DuckDB hit its memory limit
)

// Error is a failed statement: Kind is one of the sentinels above, Msg is
// DuckDB's message (or lakeflight's, for refusals). Error() returns Msg only,
// so it can go to the client unchanged.
type Error struct {
	Kind  error
	Msg   string
	Cause error // optional, e.g. context.Canceled or context.DeadlineExceeded
}

func (e *Error) Error() string { return e.Msg }

// Unwrap exposes Kind and, when set, Cause, so errors.Is(err, ErrCanceled)
// and errors.Is(err, context.DeadlineExceeded) both work.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

func newError(kind error, msg string) *Error { return &Error{Kind: kind, Msg: msg} }

// kindOfType classifies a DuckDB error type.
func kindOfType(t bindings.ErrorType, msg string) error {
	switch t {
	case bindings.ErrorTypeParser, bindings.ErrorTypeSyntax, bindings.ErrorTypeBinder,
		bindings.ErrorTypeParameterNotResolved, bindings.ErrorTypeParameterNotAllowed,
		bindings.ErrorTypeMismatchType, bindings.ErrorTypeInvalidType, bindings.ErrorTypeConversion,
		bindings.ErrorTypeOutOfRange, bindings.ErrorTypeDivideByZero, bindings.ErrorTypeInvalidInput,
		bindings.ErrorTypeDecimal, bindings.ErrorTypeExpression, bindings.ErrorTypeTransaction,
		bindings.ErrorTypeSequence, bindings.ErrorTypeUnknownType:
		return ErrInvalidSQL
	case bindings.ErrorTypeCatalog:
		if strings.Contains(msg, "already exists") {
			return ErrAlreadyExists
		}
		return ErrNotFound
	case bindings.ErrorTypePermission:
		return ErrPermission
	case bindings.ErrorTypeInterrupt:
		return ErrCanceled
	case bindings.ErrorTypeOutOfMemory:
		return ErrOutOfMemory
	case bindings.ErrorTypeConstraint, bindings.ErrorTypeDependency:
		return ErrConstraint
	case bindings.ErrorTypeNotImplemented, bindings.ErrorTypeMissingExtension,
		bindings.ErrorTypeAutoload, bindings.ErrorTypeHTTP, bindings.ErrorTypeNetwork:
		return ErrUnsupported
	case bindings.ErrorTypeSettings, bindings.ErrorTypeInvalidConfiguration:
		if strings.Contains(msg, "locked") {
			return ErrPermission
		}
		return ErrInvalidSQL
	case bindings.ErrorTypeErrorIO:
		if strings.Contains(msg, "No files found") || strings.Contains(msg, "does not exist") {
			return ErrNotFound
		}
		return ErrInternal
	}
	return ErrInternal
}

// typeOfPrefix recovers the error type from a message such as
// "Parser Error: syntax error at or near ..."; DuckDB's prepare and pending
// APIs give only the message.
var prefixTypes = map[string]bindings.ErrorType{
	"Parser":                 bindings.ErrorTypeParser,
	"Syntax":                 bindings.ErrorTypeSyntax,
	"Binder":                 bindings.ErrorTypeBinder,
	"Catalog":                bindings.ErrorTypeCatalog,
	"Permission":             bindings.ErrorTypePermission,
	"INTERRUPT":              bindings.ErrorTypeInterrupt,
	"Interrupt":              bindings.ErrorTypeInterrupt,
	"Constraint":             bindings.ErrorTypeConstraint,
	"Dependency":             bindings.ErrorTypeDependency,
	"Conversion":             bindings.ErrorTypeConversion,
	"Out of Range":           bindings.ErrorTypeOutOfRange,
	"Invalid Input":          bindings.ErrorTypeInvalidInput,
	"Mismatch Type":          bindings.ErrorTypeMismatchType,
	"Invalid type":           bindings.ErrorTypeInvalidType,
	"Divide by Zero":         bindings.ErrorTypeDivideByZero,
	"Decimal":                bindings.ErrorTypeDecimal,
	"Expression":             bindings.ErrorTypeExpression,
	"TransactionContext":     bindings.ErrorTypeTransaction,
	"Not implemented":        bindings.ErrorTypeNotImplemented,
	"Parameter Not Resolved": bindings.ErrorTypeParameterNotResolved,
	"Parameter Not Allowed":  bindings.ErrorTypeParameterNotAllowed,
	"Settings":               bindings.ErrorTypeSettings,
	"Invalid Configuration":  bindings.ErrorTypeInvalidConfiguration,
	"IO":                     bindings.ErrorTypeErrorIO,
	"Missing Extension":      bindings.ErrorTypeMissingExtension,
	"Extension Autoloading":  bindings.ErrorTypeAutoload,
	"HTTP":                   bindings.ErrorTypeHTTP,
	"Sequence":               bindings.ErrorTypeSequence,
	"Unknown Type":           bindings.ErrorTypeUnknownType,
	"Out of Memory":          bindings.ErrorTypeOutOfMemory,
}

func typeOfMessage(msg string) bindings.ErrorType {
	if i := strings.Index(msg, " Error: "); i > 0 {
		if t, ok := prefixTypes[msg[:i]]; ok {
			return t
		}
	}
	return bindings.ErrorTypeInvalid
}

// duckErr builds an *Error from a DuckDB message, with the type when known.
func duckErr(t bindings.ErrorType, msg string) *Error {
	msg = plainMessage(msg)
	if t == bindings.ErrorTypeInvalid {
		t = typeOfMessage(msg)
	}
	if msg == "" {
		msg = "duckdb: unknown error"
	}
	kind := kindOfType(t, msg)
	if errors.Is(kind, ErrOutOfMemory) {
		msg += " (the statement needs more memory than the server lets DuckDB use: lakeflight serve --memory-limit; " +
			"sorts, joins and aggregates spill to --temp-directory, lists and single huge values cannot)"
	}
	return newError(kind, msg)
}

// errorData turns a bindings ErrorData into an error (nil when it holds
// none) and destroys it.
func errorData(ed bindings.ErrorData) error {
	defer bindings.DestroyErrorData(&ed)
	if ed.Ptr == nil || !bindings.ErrorDataHasError(ed) {
		return nil
	}
	return duckErr(bindings.ErrorDataErrorType(ed), bindings.ErrorDataMessage(ed))
}

// plainMessage turns the JSON form some DuckDB paths give an error in
// ({"exception_type":"Not implemented","exception_message":"..."}) into
// the usual "Not implemented Error: ..." line; other messages pass as they are.
func plainMessage(msg string) string {
	if !strings.HasPrefix(msg, `{"exception_type"`) {
		return msg
	}
	var m struct {
		Type    string `json:"exception_type"`
		Message string `json:"exception_message"`
	}
	if err := json.Unmarshal([]byte(msg), &m); err != nil || m.Message == "" {
		return msg
	}
	return m.Type + " Error: " + m.Message
}
