using Microsoft.Data.Sqlite;

namespace Fs.Core.Meta.Sqlite;

/// <summary>
/// One SQLite connection with its statements prepared once and reused: SQL text is the cache key, parameters are
/// positional (?1, ?2...). Not thread-safe; the engine gives each connection to one operation at a time.
/// </summary>
internal sealed class SqliteMetaConnection : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteMetaConnection(string path, bool readOnly)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            // Pooling would keep the file open after Dispose, which breaks reopening the volume in the same process.
            Pooling = false,
            Cache = SqliteCacheMode.Private,
        };
        _connection = new SqliteConnection(builder.ToString());
        _connection.Open();
        Execute("PRAGMA busy_timeout = 10000");
    }

    public SqliteCommand Command(string sql, ReadOnlySpan<object?> args)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 1; i <= args.Length; i++)
                command.Parameters.Add(new SqliteParameter("?" + i, DBNull.Value));
            _commands.Add(sql, command);
        }
        var parameters = command.Parameters;
        for (var i = 0; i < args.Length; i++)
            parameters[i].Value = args[i] ?? DBNull.Value;
        return command;
    }

    public int Execute(string sql, params ReadOnlySpan<object?> args) => Command(sql, args).ExecuteNonQuery();

    public SqliteDataReader Query(string sql, params ReadOnlySpan<object?> args) => Command(sql, args).ExecuteReader();

    /// <summary>The first column of the first row as an integer, or null when there is no row or it is NULL.</summary>
    public long? Long(string sql, params ReadOnlySpan<object?> args)
    {
        using var reader = Query(sql, args);
        return reader.Read() && !reader.IsDBNull(0) ? reader.GetInt64(0) : null;
    }

    public byte[]? Blob(string sql, params ReadOnlySpan<object?> args)
    {
        using var reader = Query(sql, args);
        return reader.Read() && !reader.IsDBNull(0) ? reader.GetFieldValue<byte[]>(0) : null;
    }

    public string? Text(string sql, params ReadOnlySpan<object?> args)
    {
        using var reader = Query(sql, args);
        return reader.Read() && !reader.IsDBNull(0) ? reader.GetString(0) : null;
    }

    // Transactions are plain SQL rather than SqliteTransaction objects: then the cached commands need no Transaction
    // property set per use, and BEGIN IMMEDIATE takes the write lock up front instead of failing on upgrade.

    public void BeginWrite() => Execute("BEGIN IMMEDIATE");

    public void BeginRead() => Execute("BEGIN");

    public void Commit() => Execute("COMMIT");

    /// <summary>Whether a transaction is open (SQLite ends one by itself on some errors, such as a full disk).</summary>
    public bool InTransaction => SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0;

    /// <summary>Ends the open transaction without applying it; harmless when SQLite has already rolled it back after an error.</summary>
    public void Rollback()
    {
        if (InTransaction)
            Execute("ROLLBACK");
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
            command.Dispose();
        _commands.Clear();
        _connection.Dispose();
    }
}
