package sqldb

// RebindSQLiteForTest exposes the placeholder rewrite to the external tests.
var RebindSQLiteForTest = rebindSQLite
