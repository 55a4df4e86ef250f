using System.Runtime.CompilerServices;
using System.Text.Json;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// Lock records (a JSON list per inode, plus the set of inodes that have any) and the scans used by fsck and gc.
public sealed partial class RedisMetaEngine
{
    public async ValueTask<T> UpdateLocksAsync<T>(
        ulong ino, Func<IReadOnlyList<LockRecord>, (IReadOnlyList<LockRecord>? Locks, T Result)> update, CancellationToken ct)
    {
        // MutateAsync looks at the token only before each attempt's commit: once a change is committed the call completes.
        var result = await MutateAsync<T>(async (db, c) =>
        {
            var current = await LoadLocksAsync(db, c, ino).ConfigureAwait(false);
            var (locks, value) = update(current);
            if (locks is not null)
                StoreLocks(c, ino, [.. locks]);
            return new Result<T>(value);
        }, ct).ConfigureAwait(false);
        return result.Value;
    }

    public async ValueTask<IReadOnlyList<(ulong Ino, LockRecord Lock)>> ListLocksAsync(CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var inos = (await db.SetMembersAsync(LockedKey).ConfigureAwait(false)).Select(m => (ulong)m).Order().ToArray();
        var lists = await Task.WhenAll(inos.Select(ino => db.StringGetAsync(LocksKey(ino)))).ConfigureAwait(false);
        var all = new List<(ulong, LockRecord)>();
        for (var i = 0; i < inos.Length; i++)
            foreach (var record in DecodeLocks(lists[i]))
                all.Add((inos[i], record));
        return all;
    }

    private static List<LockRecord> DecodeLocks(RedisValue json) =>
        json.IsNull ? [] : JsonSerializer.Deserialize((string)json!, MetaJson.Default.ListLockRecord) ?? [];

    private async Task<List<LockRecord>> LoadLocksAsync(IDatabaseAsync db, RedisCommit c, ulong ino)
    {
        var key = LocksKey(ino);
        var json = await db.StringGetAsync(key).ConfigureAwait(false);
        c.Guard("GET", key, RedisValue.Null, json);
        return DecodeLocks(json);
    }

    /// <summary>Writes an inode's locks and announces the change, which wakes waiters on other appliances.</summary>
    private void StoreLocks(RedisCommit c, ulong ino, List<LockRecord> locks)
    {
        if (locks.Count == 0)
        {
            c.Op("DEL", LocksKey(ino));
            c.Op("SREM", LockedKey, ino);
        }
        else
        {
            c.Op("SET", LocksKey(ino), JsonSerializer.Serialize(locks, MetaJson.Default.ListLockRecord));
            c.Op("SADD", LockedKey, ino);
        }
        c.LocksTouched.Add(ino);
    }

    public async IAsyncEnumerable<ChunkRecord> ScanChunksAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        foreach (var ino in await ScanInodeNumbersAsync("c:", ct).ConfigureAwait(false))
        {
            ct.ThrowIfCancellationRequested();
            var chunks = await db.HashGetAllAsync(ChunksKey(ino)).ConfigureAwait(false);
            foreach (var (index, slices) in chunks.Select(e => ((uint)e.Name, e.Value)).OrderBy(e => e.Item1))
                yield return new ChunkRecord(ino, index, SliceEncoding.Decode(((ReadOnlyMemory<byte>)slices).Span));
        }
    }

    public async IAsyncEnumerable<SliceRef> ScanSliceRefsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var refs = new List<SliceRef>();
        await foreach (var entry in db.HashScanAsync(RefsKey, pageSize: ScanPage).WithCancellation(ct).ConfigureAwait(false))
            refs.Add(DecodeSliceName(((ReadOnlyMemory<byte>)entry.Name).Span, (long)entry.Value));
        refs.Sort((a, b) => a.Id.CompareTo(b.Id));
        foreach (var r in refs)
            yield return r;
    }

    /// <summary>The inode numbers of every key of one family (e.g. "c:" for chunk hashes), in order, from a SCAN of the volume's keys.</summary>
    private async Task<List<ulong>> ScanInodeNumbersAsync(string family, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var server = _connection!.GetServers().First(s => !s.IsReplica && s.IsConnected);
        var prefix = _p + family;
        var inos = new List<ulong>();
        // The hash tag is in the pattern, so its braces need escaping for SCAN's glob.
        var pattern = prefix.Replace("{", "\\{", StringComparison.Ordinal).Replace("}", "\\}", StringComparison.Ordinal) + "*";
        await foreach (var key in server.KeysAsync(db.Database, pattern, ScanPage).WithCancellation(ct).ConfigureAwait(false))
        {
            var text = (string)key!;
            if (ulong.TryParse(text.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ino))
                inos.Add(ino);
        }
        inos.Sort();
        return inos;
    }
}
