using Fs.Core.Chunks;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;

namespace Fs.Core.Meta.Sqlite;

// The consistency check behind fsck: link counts, entries, orphans, slice references and usage counters.
public sealed partial class SqliteMetaEngine
{
    public async ValueTask<IReadOnlyList<MetaIssue>> CheckAsync(bool repair, CancellationToken ct)
    {
        // One write transaction even without repair: the check then sees a state no operation is halfway through.
        var result = await WriteAsync(c => new Result<List<MetaIssue>>(Check(c, repair)), ct, durable: repair).ConfigureAwait(false);
        foreach (var issue in result.Value)
            _logger.LogWarning("Metadata check: {Kind} inode {Ino}: {Detail}{Repaired}", issue.Kind, issue.Ino, issue.Detail,
                issue.Repaired ? " (repaired)" : "");
        return result.Value;
    }

    private readonly record struct InodeFacts(FileType Type, uint Nlink, long Size, ulong Parent);

    private static List<MetaIssue> Check(SqliteMetaConnection c, bool repair)
    {
        var issues = new List<MetaIssue>();
        var inodes = new Dictionary<ulong, InodeFacts>();
        using (var r = c.Query("SELECT ino, type, nlink, size, parent FROM inodes"))
            while (r.Read())
                inodes.Add((ulong)r.GetInt64(0), new InodeFacts((FileType)r.GetInt64(1), (uint)r.GetInt64(2), r.GetInt64(3), (ulong)r.GetInt64(4)));

        var names = new Dictionary<ulong, uint>();
        var subdirs = new Dictionary<ulong, uint>();
        var entries = new List<(ulong Parent, string Name, ulong Ino, FileType Type)>();
        using (var r = c.Query("SELECT parent, name, ino, type FROM dentries"))
            while (r.Read())
                entries.Add(((ulong)r.GetInt64(0), r.GetString(1), (ulong)r.GetInt64(2), (FileType)r.GetInt64(3)));
        foreach (var (parent, name, ino, type) in entries)
        {
            if (!inodes.TryGetValue(ino, out var facts) || !inodes.ContainsKey(parent))
            {
                issues.Add(new MetaIssue("dangling-entry", ino, $"entry '{name}' in directory {parent} points to a missing inode or lives in a missing directory", repair));
                if (repair)
                    DeleteEntry(c, parent, name);
                continue;
            }
            if (facts.Type != type)
            {
                issues.Add(new MetaIssue("entry-type", ino, $"entry '{name}' in directory {parent} says {type}, the inode is {facts.Type}", repair));
                if (repair)
                    c.Execute("UPDATE dentries SET type = ?3 WHERE parent = ?1 AND name = ?2", (long)parent, name, (long)facts.Type);
            }
            names[ino] = names.GetValueOrDefault(ino) + 1;
            if (facts.Type == FileType.Directory)
            {
                subdirs[parent] = subdirs.GetValueOrDefault(parent) + 1;
                if (facts.Parent != parent)
                {
                    issues.Add(new MetaIssue("parent", ino, $"directory is in {parent} but records parent {facts.Parent}", repair));
                    if (repair)
                        c.Execute("UPDATE inodes SET parent = ?2 WHERE ino = ?1", (long)ino, (long)parent);
                }
            }
        }

        var deletedOpen = new HashSet<ulong>();
        using (var r = c.Query("SELECT ino FROM deleted_files"))
            while (r.Read())
                deletedOpen.Add((ulong)r.GetInt64(0));

        foreach (var (ino, facts) in inodes)
        {
            var isDir = facts.Type == FileType.Directory;
            var named = names.GetValueOrDefault(ino);
            // The root and /.trash have no entry naming them.
            if (named == 0 && ino != FsLimits.RootIno && ino != TrashLayout.TrashIno)
            {
                var open = IsOpen(c, ino);
                if (facts.Nlink == 0 && open)
                {
                    if (!deletedOpen.Contains(ino))
                    {
                        issues.Add(new MetaIssue("unlinked-open", ino, "unlinked inode held open is not queued for deletion", repair));
                        if (repair)
                            c.Execute("INSERT OR REPLACE INTO deleted_files (ino, deleted) VALUES (?1, ?2)", (long)ino, UnixTime.NowNanos());
                    }
                    continue;
                }
                issues.Add(new MetaIssue(facts.Nlink == 0 ? "leaked-inode" : "orphan-inode", ino,
                    $"{facts.Type} with nlink {facts.Nlink} has no entry and is not open", repair));
                if (repair && LoadInode(c, ino) is { } attr)
                    DeleteInode(c, attr);
                continue;
            }
            var expected = isDir ? 2 + subdirs.GetValueOrDefault(ino) : named;
            if (facts.Nlink != expected)
            {
                issues.Add(new MetaIssue("nlink", ino, $"nlink is {facts.Nlink}, entries say {expected}", repair));
                if (repair)
                    c.Execute("UPDATE inodes SET nlink = ?2 WHERE ino = ?1", (long)ino, (long)expected);
            }
        }

        var orphanChunks = new List<ulong>();
        using (var r = c.Query("SELECT DISTINCT ino FROM chunks WHERE ino NOT IN (SELECT ino FROM inodes)"))
            while (r.Read())
                orphanChunks.Add((ulong)r.GetInt64(0));
        foreach (var ino in orphanChunks)
        {
            issues.Add(new MetaIssue("orphan-chunk", ino, "chunks of a missing inode", repair));
            if (repair)
                c.Execute("DELETE FROM chunks WHERE ino = ?1", (long)ino);
        }

        CheckSliceRefs(c, repair, issues);
        CheckCounters(c, repair, issues);
        return issues;
    }

    /// <summary>Recounts every slice's references from the chunks and compares with the stored counts.</summary>
    private static void CheckSliceRefs(SqliteMetaConnection c, bool repair, List<MetaIssue> issues)
    {
        var actual = new Dictionary<ulong, (long Refs, uint Size)>();
        using (var r = c.Query("SELECT slices FROM chunks"))
            while (r.Read())
                foreach (var slice in SliceEncoding.Decode(r.GetFieldValue<byte[]>(0)))
                    if (slice.Id != 0)
                        actual[slice.Id] = (actual.GetValueOrDefault(slice.Id).Refs + 1, slice.Size);

        var stored = new Dictionary<ulong, (long Refs, uint Size)>();
        using (var r = c.Query("SELECT id, size, refs FROM slice_refs"))
            while (r.Read())
                stored.Add((ulong)r.GetInt64(0), (r.GetInt64(2), (uint)r.GetInt64(1)));

        foreach (var (id, (refs, size)) in actual)
        {
            var has = stored.TryGetValue(id, out var row);
            if (has && row.Refs == refs)
                continue;
            issues.Add(new MetaIssue("slice-refs", 0, $"slice {id} is referenced {refs} times, stored count {(has ? row.Refs.ToString() : "missing")}", repair));
            if (repair)
            {
                c.Execute("INSERT INTO slice_refs (id, size, refs) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET refs = excluded.refs",
                    (long)id, (long)size, refs);
                c.Execute("DELETE FROM pending_slices WHERE id = ?1", (long)id);
            }
        }
        foreach (var (id, (refs, size)) in stored)
        {
            if (actual.ContainsKey(id))
                continue;
            issues.Add(new MetaIssue("slice-refs", 0, $"slice {id} has stored count {refs} but no references", repair));
            if (repair)
            {
                c.Execute("DELETE FROM slice_refs WHERE id = ?1", (long)id);
                c.Execute("INSERT OR IGNORE INTO pending_slices (id, size) VALUES (?1, ?2)", (long)id, (long)size);
            }
        }
    }

    private static void CheckCounters(SqliteMetaConnection c, bool repair, List<MetaIssue> issues)
    {
        var inodes = c.Long("SELECT count(*) FROM inodes") ?? 0;
        var bytes = 0L;
        using (var r = c.Query("SELECT size FROM inodes WHERE type = ?1", (long)FileType.Regular))
            while (r.Read())
                bytes += ChunkLayout.Usage(r.GetInt64(0));
        foreach (var (name, value) in new[] { ("used_inodes", inodes), ("used_bytes", bytes) })
        {
            var stored = Counter(c, name);
            if (stored == value)
                continue;
            issues.Add(new MetaIssue("counter", 0, $"{name} is {stored}, recount says {value}", repair));
            if (repair)
                c.Execute("UPDATE counters SET value = ?2 WHERE name = ?1", name, value);
        }
    }
}
