using Fs.Core.Chunks;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// The consistency check behind fsck: link counts, entries, orphans, slice references, usage counters, and (Redis only)
// the agreement of each directory's entry hash with its cookie index.
public sealed partial class RedisMetaEngine
{
    public async ValueTask<IReadOnlyList<MetaIssue>> CheckAsync(bool repair, CancellationToken ct)
    {
        // The whole scan is one optimistic operation: everything it read is guarded, so the findings (and the repairs) are
        // of one state no operation was halfway through; on a busy volume it retries, and gives up after the usual bound.
        var result = await MutateAsync<List<MetaIssue>>(async (db, c) => await CheckAsync(db, c, repair, ct).ConfigureAwait(false), ct)
            .ConfigureAwait(false);
        foreach (var issue in result.Value)
            _logger.LogWarning("Metadata check: {Kind} inode {Ino}: {Detail}{Repaired}", issue.Kind, issue.Ino, issue.Detail,
                issue.Repaired ? " (repaired)" : "");
        return result.Value;
    }

    private async Task<List<MetaIssue>> CheckAsync(IDatabaseAsync db, RedisCommit c, bool repair, CancellationToken ct)
    {
        var issues = new List<MetaIssue>();
        var inodes = new Dictionary<ulong, InodeAttr>();
        foreach (var page in (await ScanInodeNumbersAsync("i:", ct).ConfigureAwait(false)).Chunk(ScanPage))
        {
            var values = await db.StringGetAsync([.. page.Select(InodeKey)]).ConfigureAwait(false);
            for (var i = 0; i < page.Length; i++)
            {
                c.Guard("GET", InodeKey(page[i]), RedisValue.Null, values[i]);
                if (DecodeInode(page[i], values[i]) is { } attr)
                    inodes.Add(page[i], attr);
            }
        }
        var countersRead = db.HashGetAsync(CountersKey, ["used_inodes", "used_bytes"]);
        var deletedRead = db.HashKeysAsync(DeletedKey);
        var refsRead = db.HashGetAllAsync(RefsKey);

        var names = new Dictionary<ulong, uint>();
        var subdirs = new Dictionary<ulong, uint>();
        foreach (var dir in await ScanInodeNumbersAsync("d:", ct).ConfigureAwait(false))
        {
            var entriesRead = db.HashGetAllAsync(EntriesKey(dir));
            var cookiesRead = db.SortedSetRangeByRankWithScoresAsync(CookiesKey(dir));
            var entries = await entriesRead.ConfigureAwait(false);
            var cookies = (await cookiesRead.ConfigureAwait(false)).ToDictionary(e => (string)e.Element!, e => e.Score);
            foreach (var stored in entries)
            {
                var name = (string)stored.Name!;
                c.Guard("HGET", EntriesKey(dir), stored.Name, stored.Value);
                var (ino, type) = DecodeEntry(stored.Value);
                if (!inodes.TryGetValue(ino, out var attr) || !inodes.ContainsKey(dir))
                {
                    issues.Add(new MetaIssue("dangling-entry", ino, $"entry '{name}' in directory {dir} points to a missing inode or lives in a missing directory", repair));
                    if (repair)
                        DeleteEntry(c, dir, name);
                    continue;
                }
                if (!cookies.Remove(name))
                {
                    issues.Add(new MetaIssue("cookie-index", ino, $"entry '{name}' in directory {dir} has no readdir cookie", repair));
                    if (repair)
                        c.Op("ZADD", CookiesKey(dir), await TakeIdAsync(db, _cookies).ConfigureAwait(false), name);
                }
                if (attr.Type != type)
                {
                    issues.Add(new MetaIssue("entry-type", ino, $"entry '{name}' in directory {dir} says {type}, the inode is {attr.Type}", repair));
                    if (repair)
                        c.Op("HSET", EntriesKey(dir), name, EncodeEntry(ino, attr.Type));
                }
                names[ino] = names.GetValueOrDefault(ino) + 1;
                if (attr.Type == FileType.Directory)
                {
                    subdirs[dir] = subdirs.GetValueOrDefault(dir) + 1;
                    if (attr.Parent != dir)
                    {
                        issues.Add(new MetaIssue("parent", ino, $"directory is in {dir} but records parent {attr.Parent}", repair));
                        if (repair)
                            StoreInode(c, inodes[ino] = attr with { Parent = dir });
                    }
                }
            }
            foreach (var stray in cookies.Keys)
            {
                issues.Add(new MetaIssue("cookie-index", dir, $"readdir cookie for '{stray}' in directory {dir} has no entry", repair));
                if (repair)
                    c.Op("ZREM", CookiesKey(dir), stray);
            }
        }

        var deletedOpen = (await deletedRead.ConfigureAwait(false)).Select(v => (ulong)v).ToHashSet();
        var removed = new HashSet<ulong>();
        foreach (var (ino, attr) in inodes)
        {
            var isDir = attr.Type == FileType.Directory;
            var named = names.GetValueOrDefault(ino);
            if (named == 0 && ino != FsLimits.RootIno && ino != TrashLayout.TrashIno) // the root and /.trash have no entry naming them
            {
                var open = await OpenerCountAsync(db, c, ino).ConfigureAwait(false) > 0;
                if (attr.Nlink == 0 && open)
                {
                    if (!deletedOpen.Contains(ino))
                    {
                        issues.Add(new MetaIssue("unlinked-open", ino, "unlinked inode held open is not queued for deletion", repair));
                        if (repair)
                            c.Op("HSET", DeletedKey, ino, UnixTime.NowNanos());
                    }
                    continue;
                }
                issues.Add(new MetaIssue(attr.Nlink == 0 ? "leaked-inode" : "orphan-inode", ino,
                    $"{attr.Type} with nlink {attr.Nlink} has no entry and is not open", repair));
                if (repair)
                {
                    DeleteInode(c, attr);
                    removed.Add(ino);
                }
                continue;
            }
            var expected = isDir ? 2 + subdirs.GetValueOrDefault(ino) : named;
            if (attr.Nlink != expected)
            {
                issues.Add(new MetaIssue("nlink", ino, $"nlink is {attr.Nlink}, entries say {expected}", repair));
                if (repair)
                    StoreInode(c, inodes[ino] = attr with { Nlink = expected });
            }
        }

        // Repairs apply at commit, after the reads: count as if the inodes deleted above were gone already.
        foreach (var ino in removed)
            inodes.Remove(ino);
        var actual = new Dictionary<ulong, (long Refs, uint Size)>();
        foreach (var ino in await ScanInodeNumbersAsync("c:", ct).ConfigureAwait(false))
        {
            if (removed.Contains(ino))
                continue;
            var chunks = await db.HashGetAllAsync(ChunksKey(ino)).ConfigureAwait(false);
            if (!inodes.ContainsKey(ino))
            {
                issues.Add(new MetaIssue("orphan-chunk", ino, "chunks of a missing inode", repair));
                if (repair)
                    DropChunks(c, ino, 0);
                continue;
            }
            foreach (var chunk in chunks)
            {
                c.Guard("HGET", ChunksKey(ino), chunk.Name, chunk.Value);
                foreach (var slice in SliceEncoding.Decode(((ReadOnlyMemory<byte>)chunk.Value).Span))
                    if (slice.Id != 0)
                        actual[slice.Id] = (actual.GetValueOrDefault(slice.Id).Refs + 1, slice.Size);
            }
        }
        CheckSliceRefs(c, repair, issues, actual, await refsRead.ConfigureAwait(false));

        var counters = await countersRead.ConfigureAwait(false);
        var bytes = inodes.Values.Where(a => a.Type == FileType.Regular).Sum(a => ChunkLayout.Usage(a.Size));
        foreach (var (name, stored, value) in new[] { ("used_inodes", counters[0], (long)inodes.Count), ("used_bytes", counters[1], bytes) })
        {
            c.Guard("HGET", CountersKey, name, stored);
            if ((long?)stored == value)
                continue;
            issues.Add(new MetaIssue("counter", 0, $"{name} is {(long?)stored ?? 0}, recount says {value}", repair));
            if (repair)
                c.Op("HSET", CountersKey, name, value);
        }
        return issues;
    }

    /// <summary>Compares every slice's references counted from the chunks with the stored counts.</summary>
    private void CheckSliceRefs(RedisCommit c, bool repair, List<MetaIssue> issues, Dictionary<ulong, (long Refs, uint Size)> actual, HashEntry[] refs)
    {
        var stored = new Dictionary<ulong, (long Refs, uint Size)>();
        foreach (var entry in refs)
        {
            c.Guard("HGET", RefsKey, entry.Name, entry.Value);
            var r = DecodeSliceName(((ReadOnlyMemory<byte>)entry.Name).Span, (long)entry.Value);
            stored[r.Id] = (r.Refs, r.Size);
        }
        foreach (var (id, (count, size)) in actual)
        {
            var has = stored.TryGetValue(id, out var row);
            if (has && row.Refs == count)
                continue;
            issues.Add(new MetaIssue("slice-refs", 0, $"slice {id} is referenced {count} times, stored count {(has ? row.Refs.ToString() : "missing")}", repair));
            if (repair)
            {
                var name = SliceName(new Slice(id, size, 0, 0, 0));
                c.Op("HSET", RefsKey, name, count);
                c.Op("SREM", PendingKey, name);
            }
        }
        foreach (var (id, (count, size)) in stored)
        {
            if (actual.ContainsKey(id))
                continue;
            issues.Add(new MetaIssue("slice-refs", 0, $"slice {id} has stored count {count} but no references", repair));
            if (repair)
            {
                var name = SliceName(new Slice(id, size, 0, 0, 0));
                c.Op("HDEL", RefsKey, name);
                c.Op("SADD", PendingKey, name);
            }
        }
    }
}
