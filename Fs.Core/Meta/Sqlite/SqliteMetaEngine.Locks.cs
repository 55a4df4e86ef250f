using System.Runtime.CompilerServices;
using System.Text.Json;
using Fs.Core.Locks;
using Fs.Core.Vfs;

namespace Fs.Core.Meta.Sqlite;

// Lock records and the scans used by fsck and gc.
public sealed partial class SqliteMetaEngine
{
    public async ValueTask<T> UpdateLocksAsync<T>(
        ulong ino, Func<IReadOnlyList<LockRecord>, (IReadOnlyList<LockRecord>? Locks, T Result)> update, CancellationToken ct)
    {
        // The write transaction is exclusive, so update runs exactly once here.
        var result = await WriteAsync(c =>
        {
            var json = c.Text("SELECT json FROM locks WHERE ino = ?1", (long)ino);
            var current = json is null ? [] : JsonSerializer.Deserialize(json, MetaJson.Default.ListLockRecord) ?? [];
            var (locks, value) = update(current);
            if (locks is not null)
                StoreLocks(c, ino, [.. locks]);
            return new Result<T>(value);
        }, ct).ConfigureAwait(false);
        return result.Value;
    }

    public ValueTask<IReadOnlyList<(ulong Ino, LockRecord Lock)>> ListLocksAsync(CancellationToken ct) => ReadAsync(c =>
    {
        var all = new List<(ulong, LockRecord)>();
        using var r = c.Query("SELECT ino, json FROM locks ORDER BY ino");
        while (r.Read())
            foreach (var record in JsonSerializer.Deserialize(r.GetString(1), MetaJson.Default.ListLockRecord) ?? [])
                all.Add(((ulong)r.GetInt64(0), record));
        return (IReadOnlyList<(ulong Ino, LockRecord Lock)>)all;
    }, ct);

    public async IAsyncEnumerable<ChunkRecord> ScanChunksAsync([EnumeratorCancellation] CancellationToken ct)
    {
        // Keyset pages keep a read connection for one page at a time, never across the consumer's awaits.
        long lastIno = -1, lastIndex = -1;
        while (true)
        {
            var page = await ReadAsync(c =>
            {
                var rows = new List<ChunkRecord>();
                using var r = c.Query("SELECT ino, idx, slices FROM chunks WHERE (ino, idx) > (?1, ?2) ORDER BY ino, idx LIMIT ?3",
                    lastIno, lastIndex, (long)ScanPage);
                while (r.Read())
                    rows.Add(new ChunkRecord((ulong)r.GetInt64(0), (uint)r.GetInt64(1), SliceEncoding.Decode(r.GetFieldValue<byte[]>(2))));
                return rows;
            }, ct).ConfigureAwait(false);
            foreach (var row in page)
                yield return row;
            if (page.Count < ScanPage)
                yield break;
            lastIno = (long)page[^1].Ino;
            lastIndex = page[^1].Index;
        }
    }

    public async IAsyncEnumerable<SliceRef> ScanSliceRefsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        long lastId = -1;
        while (true)
        {
            var page = await ReadAsync(c =>
            {
                var rows = new List<SliceRef>();
                using var r = c.Query("SELECT id, size, refs FROM slice_refs WHERE id > ?1 ORDER BY id LIMIT ?2", lastId, (long)ScanPage);
                while (r.Read())
                    rows.Add(new SliceRef((ulong)r.GetInt64(0), (uint)r.GetInt64(1), r.GetInt64(2)));
                return rows;
            }, ct).ConfigureAwait(false);
            foreach (var row in page)
                yield return row;
            if (page.Count < ScanPage)
                yield break;
            lastId = (long)page[^1].Id;
        }
    }
}
