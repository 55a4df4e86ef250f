using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Fs.Core.Chunks;
using Fs.Core.Meta.Dump;
using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// Whole-volume work: dump and load, destroy, and named leases (a hash name -> "session expires-ms").
public sealed partial class RedisMetaEngine
{
    /// <summary>Writes a load sends before waiting for their replies: pipelined, so a load is not one round trip per row.</summary>
    private const int LoadPipeline = 1024;

    private RedisKey LeasesKey => _p + "leases";

    /// <remarks>
    /// Redis has no snapshot to read from, so on a volume in use the dump is per-inode consistent rather than one point in
    /// time; dump a quiet volume (or a replica) for an exact copy.
    /// </remarks>
    public async IAsyncEnumerable<DumpRecord> DumpAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        var format = await LoadFormatAsync(ct).ConfigureAwait(false) ?? throw new VolumeException($"{Description} holds no volume to dump");
        var counters = await db.HashGetAsync(CountersKey, ["next_inode", "next_slice"]).ConfigureAwait(false);
        yield return new DumpHeader(DumpHeader.CurrentVersion, format, (ulong)(long)counters[0], (ulong)(long)counters[1]);

        // Refs are recounted from the chunks dumped, as the SQLite engine does, so the dump is consistent in itself.
        var refs = new Dictionary<ulong, (uint Size, long Refs)>();
        var directories = new List<ulong>();
        foreach (var ino in await ScanInodeNumbersAsync("i:", ct).ConfigureAwait(false))
        {
            ct.ThrowIfCancellationRequested();
            var attrRead = db.StringGetAsync(InodeKey(ino));
            var targetRead = db.StringGetAsync(SymlinkKey(ino));
            var xattrsRead = db.HashGetAllAsync(XattrKey(ino));
            var chunksRead = db.HashGetAllAsync(ChunksKey(ino));
            var attr = DecodeInode(ino, await attrRead.ConfigureAwait(false));
            var target = await targetRead.ConfigureAwait(false);
            var xattrs = await xattrsRead.ConfigureAwait(false);
            var chunks = await chunksRead.ConfigureAwait(false);
            // Gone meanwhile, or an unlinked file only an open handle keeps: nothing a loaded volume could name.
            if (attr is null || attr.Nlink == 0)
                continue;
            if (attr.Type == FileType.Directory)
                directories.Add(ino);
            var dumpedChunks = new List<DumpedChunk>(chunks.Length);
            foreach (var (index, value) in chunks.Select(e => ((uint)e.Name, e.Value)).OrderBy(e => e.Item1))
            {
                var slices = SliceEncoding.Decode(((ReadOnlyMemory<byte>)value).Span);
                foreach (var s in slices)
                    if (s.Id != 0)
                        refs[s.Id] = (s.Size, refs.GetValueOrDefault(s.Id).Refs + 1);
                dumpedChunks.Add(new DumpedChunk(index, slices));
            }
            yield return DumpedInode.From(attr, target.IsNull ? null : (string?)target,
                xattrs.ToDictionary(e => (string)e.Name!, e => (byte[])e.Value!, StringComparer.Ordinal), dumpedChunks);
        }
        foreach (var dir in directories)
        {
            var entries = await db.HashGetAllAsync(EntriesKey(dir)).ConfigureAwait(false);
            foreach (var e in entries)
            {
                var entry = DecodeEntry(e.Value);
                yield return new DumpedEntry(dir, (string)e.Name!, entry.Ino, entry.Type);
            }
        }
        foreach (var member in await db.SetMembersAsync(PendingKey).ConfigureAwait(false))
        {
            var pending = DecodeSliceName(((ReadOnlyMemory<byte>)member).Span, 0);
            refs.TryAdd(pending.Id, (pending.Size, 0));
        }
        await foreach (var stored in ScanSliceRefsAsync(ct).ConfigureAwait(false))
            refs.TryAdd(stored.Id, (stored.Size, 0));
        foreach (var (id, (size, count)) in refs.OrderBy(p => p.Key))
            yield return new DumpedSlice(id, size, count);
    }

    /// <remarks>The format key is written last, so until the load completes the volume does not exist for anyone; a failed load deletes what it wrote.</remarks>
    public async ValueTask LoadAsync(IAsyncEnumerable<DumpRecord> records, CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        if (await db.KeyExistsAsync(FormatKey).ConfigureAwait(false))
        {
            var existing = await LoadFormatAsync(ct).ConfigureAwait(false);
            throw new VolumeException($"{Description} already holds volume '{existing?.Name}'; load needs an empty metadata engine");
        }
        try
        {
            var format = await LoadRecordsAsync(db, records, ct).ConfigureAwait(false);
            _inodeLimit = format.InodeLimit;
            _trashDays = format.TrashDays;
        }
        catch
        {
            await DeleteVolumeKeysAsync(db, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<VolumeFormat> LoadRecordsAsync(IDatabase db, IAsyncEnumerable<DumpRecord> records, CancellationToken ct)
    {
        DumpHeader? header = null;
        var rootSeen = false;
        long inodes = 0, bytes = 0, cookie = 1;
        var pipeline = new List<Task>(LoadPipeline);
        async Task Send(Task write)
        {
            pipeline.Add(write);
            if (pipeline.Count < LoadPipeline)
                return;
            await Task.WhenAll(pipeline).ConfigureAwait(false);
            pipeline.Clear();
        }

        await foreach (var record in records.WithCancellation(ct).ConfigureAwait(false))
        {
            switch (record)
            {
                case DumpHeader h:
                    header = h;
                    break;
                case DumpedInode i:
                    await Send(db.StringSetAsync(InodeKey(i.Ino), EncodeInode(i.ToAttr()))).ConfigureAwait(false);
                    if (i.Target is not null)
                        await Send(db.StringSetAsync(SymlinkKey(i.Ino), i.Target)).ConfigureAwait(false);
                    if (i.Xattrs is { Count: > 0 })
                        await Send(db.HashSetAsync(XattrKey(i.Ino), i.Xattrs.Select(x => new HashEntry(x.Key, x.Value)).ToArray())).ConfigureAwait(false);
                    if (i.Chunks is { Count: > 0 })
                        await Send(db.HashSetAsync(ChunksKey(i.Ino), i.Chunks.Select(c => new HashEntry(ChunkField(c.Index), SliceEncoding.Encode(c.Slices))).ToArray())).ConfigureAwait(false);
                    rootSeen |= i.Ino == FsLimits.RootIno;
                    inodes++;
                    if (i.Type == FileType.Regular)
                        bytes += ChunkLayout.Usage(i.Size);
                    break;
                case DumpedEntry e:
                    await Send(db.HashSetAsync(EntriesKey(e.Parent), e.Name, EncodeEntry(e.Ino, e.Type))).ConfigureAwait(false);
                    await Send(db.SortedSetAddAsync(CookiesKey(e.Parent), e.Name, cookie++)).ConfigureAwait(false);
                    break;
                case DumpedSlice s when s.Refs > 0:
                    await Send(db.HashSetAsync(RefsKey, SliceName(new Slice(s.Id, s.Size, 0, 0, 0)), s.Refs)).ConfigureAwait(false);
                    break;
                case DumpedSlice s:
                    await Send(db.SetAddAsync(PendingKey, SliceName(new Slice(s.Id, s.Size, 0, 0, 0)))).ConfigureAwait(false);
                    break;
            }
        }
        await Task.WhenAll(pipeline).ConfigureAwait(false);
        if (header is null)
            throw new VolumeException("the dump has no header");
        if (!rootSeen)
            throw new VolumeException("the dump has no root directory");
        await db.HashSetAsync(CountersKey, [
            new HashEntry("next_inode", (long)header.NextInode),
            new HashEntry("next_slice", (long)header.NextSlice),
            new HashEntry("next_cookie", cookie),
            new HashEntry("used_inodes", inodes),
            new HashEntry("used_bytes", bytes),
        ]).ConfigureAwait(false);
        await db.StringSetAsync(SchemaKey, SchemaVersion).ConfigureAwait(false);
        await db.StringSetAsync(FormatKey, JsonSerializer.Serialize(header.Format, MetaJson.Default.VolumeFormat)).ConfigureAwait(false);
        return header.Format;
    }

    public async ValueTask DestroyAsync(CancellationToken ct)
    {
        var db = await DbAsync(ct).ConfigureAwait(false);
        // The format goes first: from then on no appliance can open the volume while the rest is deleted.
        await db.KeyDeleteAsync(FormatKey).ConfigureAwait(false);
        await DeleteVolumeKeysAsync(db, ct).ConfigureAwait(false);
        _inodeLimit = 0;
        _trashDays = 0;
    }

    /// <summary>Deletes every key under the volume's hash tag.</summary>
    private async Task DeleteVolumeKeysAsync(IDatabase db, CancellationToken ct)
    {
        var server = _connection!.GetServers().First(s => !s.IsReplica && s.IsConnected);
        var pattern = _p.Replace("{", "\\{", StringComparison.Ordinal).Replace("}", "\\}", StringComparison.Ordinal) + "*";
        var batch = new List<RedisKey>(ScanPage);
        await foreach (var key in server.KeysAsync(db.Database, pattern, ScanPage).WithCancellation(ct).ConfigureAwait(false))
        {
            batch.Add(key);
            if (batch.Count < ScanPage)
                continue;
            await db.KeyDeleteAsync([.. batch]).ConfigureAwait(false);
            batch.Clear();
        }
        if (batch.Count > 0)
            await db.KeyDeleteAsync([.. batch]).ConfigureAwait(false);
    }

    public async ValueTask<bool> TryAcquireLeaseAsync(string name, long session, TimeSpan duration, CancellationToken ct)
    {
        var result = await MutateAsync<bool>(async (db, c) =>
        {
            var now = NowMs();
            var held = await db.HashGetAsync(LeasesKey, name).ConfigureAwait(false);
            c.Guard("HGET", LeasesKey, name, held);
            if (held.HasValue && ((string)held!).Split(' ') is [var holder, var expires]
                && long.Parse(holder, CultureInfo.InvariantCulture) != session && long.Parse(expires, CultureInfo.InvariantCulture) > now)
                return false;
            c.Op("HSET", LeasesKey, name, Decimal(session) + " " + Decimal(now + (long)duration.TotalMilliseconds));
            return true;
        }, ct).ConfigureAwait(false);
        return result.Value;
    }
}
