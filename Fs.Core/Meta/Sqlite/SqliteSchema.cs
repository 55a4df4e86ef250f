namespace Fs.Core.Meta.Sqlite;

/// <summary>The tables of a SQLite metadata database and the version they are at (kept in PRAGMA user_version).</summary>
internal static class SqliteSchema
{
    public const int Version = 2;

    // Inode numbers, slice ids and readdir cookies are handed out from counters and never reused; usage figures are kept
    // incrementally so statfs is one read. No foreign keys: every operation maintains its rows itself, and CheckAsync
    // verifies that it did.
    public const string Create = """
        CREATE TABLE format (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        """ + InitialCounters + """
        CREATE TABLE inodes (
            ino INTEGER PRIMARY KEY, type INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,
            nlink INTEGER NOT NULL, size INTEGER NOT NULL, rdev INTEGER NOT NULL,
            atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL, parent INTEGER NOT NULL);
        CREATE TABLE dentries (
            parent INTEGER NOT NULL, name TEXT NOT NULL, ino INTEGER NOT NULL, type INTEGER NOT NULL, cookie INTEGER NOT NULL,
            PRIMARY KEY (parent, name)) WITHOUT ROWID;
        CREATE UNIQUE INDEX dentries_by_cookie ON dentries (parent, cookie);
        CREATE TABLE symlinks (ino INTEGER PRIMARY KEY, target TEXT NOT NULL);
        CREATE TABLE xattrs (ino INTEGER NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ino, name)) WITHOUT ROWID;
        CREATE TABLE chunks (ino INTEGER NOT NULL, idx INTEGER NOT NULL, slices BLOB NOT NULL, PRIMARY KEY (ino, idx)) WITHOUT ROWID;
        CREATE TABLE slice_refs (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, refs INTEGER NOT NULL);
        CREATE TABLE pending_slices (id INTEGER NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (id, size)) WITHOUT ROWID;
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, pid INTEGER NOT NULL, version TEXT NOT NULL,
            doors TEXT NOT NULL, started INTEGER NOT NULL, heartbeat INTEGER NOT NULL);
        CREATE TABLE open_files (session INTEGER NOT NULL, ino INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (session, ino)) WITHOUT ROWID;
        CREATE INDEX open_files_by_ino ON open_files (ino);
        CREATE TABLE locks (ino INTEGER PRIMARY KEY, json TEXT NOT NULL);
        CREATE TABLE deleted_files (ino INTEGER PRIMARY KEY, deleted INTEGER NOT NULL);
        """ + Leases;

    public const string InitialCounters = """
        INSERT INTO counters (name, value) VALUES
            ('next_inode', 2), ('next_slice', 1), ('next_cookie', 1), ('used_bytes', 0), ('used_inodes', 0), ('sync_epoch', 0);
        """;

    /// <summary>Named leases (e.g. which appliance empties the trash), held by a session until they expire.</summary>
    private const string Leases = """
        CREATE TABLE leases (name TEXT PRIMARY KEY, session INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
        """;

    /// <summary>The statements taking a database from version i + 1 to i + 2.</summary>
    public static readonly string[] Upgrades = [Leases];
}
