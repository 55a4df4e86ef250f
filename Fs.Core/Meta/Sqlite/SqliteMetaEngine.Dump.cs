using System.Runtime.CompilerServices;
using System.Text.Json;
using Fs.Core.Chunks;
using Fs.Core.Meta.Dump;
using Fs.Core.Vfs;
using Microsoft.Data.Sqlite;

namespace Fs.Core.Meta.Sqlite;

// The whole metadata as dump records, and loading them into an empty database.
public sealed partial class SqliteMetaEngine
{
    public async IAsyncEnumerable<DumpRecord> DumpAsync([EnumeratorCancellation] CancellationToken ct)
    {
        // One read transaction over the whole dump: WAL keeps its snapshot while writers go on, so the dump is one
        // consistent state however long it takes to stream.
        await _readSlots.WaitAsync(ct).ConfigureAwait(false);
        SqliteMetaConnection? c = null;
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            c = _readers.TryTake(out var pooled) ? pooled : new SqliteMetaConnection(_path, readOnly: true);
            c.BeginRead();
            try
            {
                var format = LoadFormat(c) ?? throw new VolumeException($"{Description} holds no volume to dump");
                yield return new DumpHeader(DumpHeader.CurrentVersion, format,
                    (ulong)Counter(c, _inodeIds.Counter), (ulong)Counter(c, _sliceIds.Counter));

                // Refs are recounted from the chunks dumped, so the dump is consistent even where the stored counts are not
                // and without the chunks of files that only an open handle kept alive (sessions are not dumped).
                var refs = new Dictionary<ulong, (uint Size, long Refs)>();
                foreach (var inode in DumpInodes(c, refs))
                {
                    ct.ThrowIfCancellationRequested();
                    yield return inode;
                }
                using (var r = c.Query("SELECT parent, name, ino, type FROM dentries ORDER BY parent, cookie"))
                    while (r.Read())
                        yield return new DumpedEntry((ulong)r.GetInt64(0), r.GetString(1), (ulong)r.GetInt64(2), (FileType)r.GetInt64(3));
                using (var r = c.Query("SELECT id, size FROM slice_refs UNION SELECT id, size FROM pending_slices"))
                    while (r.Read())
                        refs.TryAdd((ulong)r.GetInt64(0), ((uint)r.GetInt64(1), 0));
                foreach (var (id, (size, count)) in refs.OrderBy(p => p.Key))
                    yield return new DumpedSlice(id, size, count);
            }
            finally
            {
                c.Rollback();
            }
        }
        finally
        {
            if (c is not null)
                _readers.Add(c);
            _readSlots.Release();
        }
    }

    /// <summary>Inodes with their symlink targets, xattrs and chunks: four scans in inode order merged as they go.</summary>
    private static IEnumerable<DumpedInode> DumpInodes(SqliteMetaConnection c, Dictionary<ulong, (uint Size, long Refs)> refs)
    {
        using var inodes = c.Query("SELECT " + InodeColumns + " FROM inodes ORDER BY ino");
        using var targets = new OrderedRows(c.Query("SELECT ino, target FROM symlinks ORDER BY ino"));
        using var xattrs = new OrderedRows(c.Query("SELECT ino, name, value FROM xattrs ORDER BY ino, name"));
        using var chunks = new OrderedRows(c.Query("SELECT ino, idx, slices FROM chunks ORDER BY ino, idx"));
        while (inodes.Read())
        {
            var attr = ReadAttr(inodes, 0);
            string? target = null;
            foreach (var row in targets.Take(attr.Ino))
                target = row.GetString(1);
            Dictionary<string, byte[]>? attrs = null;
            foreach (var row in xattrs.Take(attr.Ino))
                (attrs ??= new(StringComparer.Ordinal))[row.GetString(1)] = row.GetFieldValue<byte[]>(2);
            List<DumpedChunk>? list = null;
            var live = attr.Nlink > 0;
            foreach (var row in chunks.Take(attr.Ino))
            {
                if (!live)
                    continue;
                var slices = SliceEncoding.Decode(row.GetFieldValue<byte[]>(2));
                foreach (var s in slices)
                    if (s.Id != 0)
                        refs[s.Id] = (s.Size, refs.GetValueOrDefault(s.Id).Refs + 1);
                (list ??= []).Add(new DumpedChunk((uint)row.GetInt64(1), slices));
            }
            // An unlinked file held open has no name to restore it under; its data is released by the loaded volume.
            if (live)
                yield return DumpedInode.From(attr, target, attrs, list);
        }
    }

    /// <summary>A query ordered by inode (column 0), consumed in step with the inode scan.</summary>
    private sealed class OrderedRows(SqliteDataReader reader) : IDisposable
    {
        private bool _has = reader.Read();

        /// <summary>The rows of <paramref name="ino"/>, skipping rows of lower inodes (rows of inodes that no longer exist).</summary>
        public IEnumerable<SqliteDataReader> Take(ulong ino)
        {
            while (_has && (ulong)reader.GetInt64(0) < ino)
                _has = reader.Read();
            while (_has && (ulong)reader.GetInt64(0) == ino)
            {
                yield return reader;
                _has = reader.Read();
            }
        }

        public void Dispose() => reader.Dispose();
    }

    public async ValueTask LoadAsync(IAsyncEnumerable<DumpRecord> records, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (LoadFormat(_writer) is { } existing)
                throw new VolumeException($"{Description} already holds volume '{existing.Name}'; load needs an empty metadata engine");
            var format = await LoadRecordsAsync(records, ct).ConfigureAwait(false);
            // Ids are reserved from the counters the load set; nothing reserved before it may be handed out.
            _inodeIds.Refill(0, 0);
            _sliceIds.Refill(0, 0);
            _cookies.Refill(0, 0);
            _inodeLimit = format.InodeLimit;
            _trashDays = format.TrashDays;
        }
        finally
        {
            ReleaseWriteLock();
        }
    }

    /// <summary>Inserts every record in one durable transaction: a load that fails part-way leaves the database empty.</summary>
    private async Task<VolumeFormat> LoadRecordsAsync(IAsyncEnumerable<DumpRecord> records, CancellationToken ct)
    {
        var w = _writer;
        w.Execute("PRAGMA synchronous = FULL");
        w.BeginWrite();
        try
        {
            DumpHeader? header = null;
            var rootSeen = false;
            long inodes = 0, bytes = 0;
            var cookie = Counter(w, _cookies.Counter);
            await foreach (var record in records.WithCancellation(ct).ConfigureAwait(false))
            {
                switch (record)
                {
                    case DumpHeader h:
                        header = h;
                        w.Execute("INSERT INTO format (id, json) VALUES (1, ?1)", JsonSerializer.Serialize(h.Format, MetaJson.Default.VolumeFormat));
                        break;
                    case DumpedInode i:
                        LoadInode(w, i);
                        rootSeen |= i.Ino == FsLimits.RootIno;
                        inodes++;
                        if (i.Type == FileType.Regular)
                            bytes += ChunkLayout.Usage(i.Size);
                        break;
                    case DumpedEntry e:
                        w.Execute("INSERT INTO dentries (parent, name, ino, type, cookie) VALUES (?1, ?2, ?3, ?4, ?5)",
                            (long)e.Parent, e.Name, (long)e.Ino, (long)e.Type, cookie++);
                        break;
                    case DumpedSlice s when s.Refs > 0:
                        w.Execute("INSERT INTO slice_refs (id, size, refs) VALUES (?1, ?2, ?3)", (long)s.Id, (long)s.Size, s.Refs);
                        break;
                    case DumpedSlice s:
                        w.Execute("INSERT OR IGNORE INTO pending_slices (id, size) VALUES (?1, ?2)", (long)s.Id, (long)s.Size);
                        break;
                }
            }
            if (header is null)
                throw new VolumeException("the dump has no header");
            if (!rootSeen)
                throw new VolumeException("the dump has no root directory");
            w.Execute("UPDATE counters SET value = max(value, ?2) WHERE name = ?1", _inodeIds.Counter, (long)header.NextInode);
            w.Execute("UPDATE counters SET value = max(value, ?2) WHERE name = ?1", _sliceIds.Counter, (long)header.NextSlice);
            w.Execute("UPDATE counters SET value = ?2 WHERE name = ?1", _cookies.Counter, cookie);
            w.Execute("UPDATE counters SET value = ?2 WHERE name = ?1", "used_inodes", inodes);
            w.Execute("UPDATE counters SET value = ?2 WHERE name = ?1", "used_bytes", bytes);
            w.Commit();
            return header.Format;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19)
        {
            w.Rollback();
            throw new VolumeException($"the dump names the same row twice: {e.Message}", e);
        }
        catch
        {
            w.Rollback();
            throw;
        }
        finally
        {
            w.Execute("PRAGMA synchronous = NORMAL");
        }
    }

    private static void LoadInode(SqliteMetaConnection c, DumpedInode i)
    {
        InsertInode(c, i.ToAttr());
        if (i.Target is not null)
            c.Execute("INSERT INTO symlinks (ino, target) VALUES (?1, ?2)", (long)i.Ino, i.Target);
        if (i.Xattrs is not null)
            foreach (var (name, value) in i.Xattrs)
                c.Execute("INSERT INTO xattrs (ino, name, value) VALUES (?1, ?2, ?3)", (long)i.Ino, name, value);
        if (i.Chunks is not null)
            foreach (var chunk in i.Chunks)
                c.Execute("INSERT INTO chunks (ino, idx, slices) VALUES (?1, ?2, ?3)", (long)i.Ino, (long)chunk.Index, SliceEncoding.Encode(chunk.Slices));
    }
}
