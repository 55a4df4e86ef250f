using System.Text;
using Fs.Core.Chunks;
using Fs.Core.Meta;
using Fs.Core.Meta.Dump;
using Fs.Core.Tests.Vfs;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Meta.Dump;

/// <summary>A dump of a SQLite volume loaded into a fresh SQLite database serves the same tree from the same objects.</summary>
public sealed class MetaDumpTests : IAsyncLifetime
{
    private AdminVolume _volume = null!;

    public async Task InitializeAsync()
    {
        _volume = await AdminVolume.CreateAsync(f => f with { TrashDays = 1 });
        await PopulateAsync(_volume);
    }

    public async Task DisposeAsync() => await _volume.DisposeAsync();

    /// <summary>Every kind of thing a dump must carry: nested directories, multi-block files, shared slices, holes, links, xattrs, the trash.</summary>
    private static async Task PopulateAsync(AdminVolume v)
    {
        var fs = v.Fs;
        var root = FsLimits.RootIno;
        var docs = (await fs.MkdirAsync(Caller.Root, root, "docs", 0x1ED)).Value;
        var deep = (await fs.MkdirAsync(Caller.Root, docs.Ino, "deep", 0x1C0)).Value;
        var random = new Random(11);
        var big = new byte[(3 * AdminVolume.BlockSize) + 777];
        random.NextBytes(big);
        var bigAttr = await v.WriteFileAsync(docs.Ino, "big.bin", big);
        await v.WriteFileAsync(deep.Ino, "empty", []);
        await v.WriteFileAsync(root, "héllo wörld.txt", Encoding.UTF8.GetBytes("hello"));

        // A copy shares slices with its source (reference count 2); a hole punched through it adds a hole slice.
        var (_, copy) = (await fs.CreateAsync(Caller.Root, docs.Ino, "copy.bin", 0x1A4, OpenFlags.ReadWrite | OpenFlags.Create)).Value;
        var source = (await fs.OpenAsync(Caller.Root, bigAttr.Ino, OpenFlags.ReadOnly)).Value;
        Assert.Equal(big.Length, (await fs.CopyFileRangeAsync(source, 0, copy, 0, big.Length)).Value);
        Assert.Equal(Errno.OK, await fs.FallocateAsync(copy, FallocateMode.PunchHole | FallocateMode.KeepSize, 1000, 5000));
        await fs.ReleaseAsync(source);
        await fs.ReleaseAsync(copy);

        // A truncated file leaves slices queued for deletion.
        var shrunk = await v.WriteFileAsync(root, "shrunk", big);
        Assert.True((await fs.SetAttrAsync(Caller.Root, shrunk.Ino, new SetAttrRequest(SetAttrMask.Size, Size: 10))).Ok);

        Assert.True((await fs.LinkAsync(Caller.Root, bigAttr.Ino, root, "big-link")).Ok);
        Assert.True((await fs.SymlinkAsync(Caller.Root, docs.Ino, "to-big", "big.bin")).Ok);
        Assert.True((await fs.MknodAsync(Caller.Root, root, "fifo", FileType.Fifo, 0x1B6)).Ok);
        Assert.Equal(Errno.OK, await fs.SetXattrAsync(Caller.Root, bigAttr.Ino, "user.colour", "blue"u8.ToArray()));
        Assert.Equal(Errno.OK, await fs.SetXattrAsync(Caller.Root, docs.Ino, "user.empty", Array.Empty<byte>()));
        Assert.True((await fs.SetAttrAsync(Caller.Root, deep.Ino, new SetAttrRequest(SetAttrMask.Uid | SetAttrMask.Gid, Uid: 1000, Gid: 50))).Ok);

        // A removed file sits in the trash, which the dump must carry like any directory.
        await v.WriteFileAsync(root, "removed.txt", "gone"u8.ToArray());
        Assert.Equal(Errno.OK, await fs.UnlinkAsync(Caller.Root, root, "removed.txt"));
    }

    private static async Task<byte[]> DumpAsync(IMetaEngine meta)
    {
        using var buffer = new MemoryStream();
        await MetaDumpStream.WriteAsync(meta.DumpAsync(CancellationToken.None), buffer, null, CancellationToken.None);
        return buffer.ToArray();
    }

    [Fact]
    public async Task A_loaded_dump_serves_the_same_tree_and_checks_clean()
    {
        var before = await _volume.ChecksumTreeAsync();
        var trashBefore = (await _volume.ListAsync(TrashLayout.TrashIno)).Count;
        var dump = await DumpAsync(_volume.Fs.Meta);

        var loadedUrl = AdminVolume.MetaUrlIn(_volume.Dir, "loaded.db");
        await using (var fresh = MetaEngines.Open(loadedUrl))
            await fresh.LoadAsync(MetaDumpStream.ReadAsync(new MemoryStream(dump), CancellationToken.None), CancellationToken.None);

        await using var loaded = await FileSystem.OpenAsync(AdminVolume.Options(loadedUrl, o => o with { StorageUrl = _volume.StorageUrl }));
        var checker = new VolumeChecker(loaded.Meta, loaded.ObjectStore, loaded.Format.BlockSize, loaded.VerifyBlockAsync);
        var report = await checker.CheckAsync(repair: false, progress: null, CancellationToken.None);
        Assert.Empty(report.MetaIssues);
        Assert.Empty(report.BlockProblems);
        Assert.Equal(_volume.Fs.Format, loaded.Format);
        Assert.Equal(await _volume.Fs.Meta.GetUsageAsync(CancellationToken.None), await loaded.Meta.GetUsageAsync(CancellationToken.None));

        var walker = new VolumeFiles(loaded);
        Assert.Equal(before, await walker.ChecksumTreeAsync());
        Assert.Equal(trashBefore, (await walker.ListAsync(TrashLayout.TrashIno)).Count);
    }

    [Fact]
    public async Task A_SQLite_dump_loaded_into_Redis_serves_the_same_tree_and_dumps_back_the_same()
    {
        var before = await _volume.ChecksumTreeAsync();
        var dump = await DumpAsync(_volume.Fs.Meta);
        var server = await Redis.RedisServer.Shared;
        var redisUrl = server.Url("dump-" + Guid.NewGuid().ToString("N"));

        await using (var fresh = MetaEngines.Open(redisUrl))
            await fresh.LoadAsync(MetaDumpStream.ReadAsync(new MemoryStream(dump), CancellationToken.None), CancellationToken.None);

        await using var loaded = await FileSystem.OpenAsync(AdminVolume.Options(redisUrl, o => o with { StorageUrl = _volume.StorageUrl }));
        Assert.Equal(before, await new VolumeFiles(loaded).ChecksumTreeAsync());
        var report = await new VolumeChecker(loaded.Meta, loaded.ObjectStore, loaded.Format.BlockSize, loaded.VerifyBlockAsync)
            .CheckAsync(repair: false, progress: null, CancellationToken.None);
        Assert.Empty(report.BlockProblems);
        Assert.Empty(report.MetaIssues);
        Assert.Equal(await _volume.Fs.Meta.GetUsageAsync(CancellationToken.None), await loaded.Meta.GetUsageAsync(CancellationToken.None));
        // Back out of Redis, the dump describes the same volume (only readdir cookies are the engine's own).
        Assert.Equal(Normalise(dump), Normalise(await DumpAsync(loaded.Meta)));

        await loaded.Meta.DestroyAsync(CancellationToken.None);
        Assert.Null(await loaded.Meta.LoadFormatAsync(CancellationToken.None));
    }

    /// <summary>The records of a dump in a canonical order, so two engines' dumps of one volume compare equal.</summary>
    private static List<string> Normalise(byte[] dump) =>
        Encoding.UTF8.GetString(dump).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Ids_continue_after_a_load_so_new_files_never_reuse_an_object_name()
    {
        var dump = await DumpAsync(_volume.Fs.Meta);
        var highest = (await _volume.ListAsync(FsLimits.RootIno)).Max(e => e.Ino);
        var slices = new List<ulong>();
        await foreach (var r in MetaDumpStream.ReadAsync(new MemoryStream(dump), CancellationToken.None))
            if (r is DumpedSlice s)
                slices.Add(s.Id);

        var loadedUrl = AdminVolume.MetaUrlIn(_volume.Dir, "loaded.db");
        await using (var fresh = MetaEngines.Open(loadedUrl))
            await fresh.LoadAsync(MetaDumpStream.ReadAsync(new MemoryStream(dump), CancellationToken.None), CancellationToken.None);
        await using var loaded = await FileSystem.OpenAsync(AdminVolume.Options(loadedUrl, o => o with { StorageUrl = _volume.StorageUrl }));
        var walker = new VolumeFiles(loaded);

        var added = await walker.WriteFileAsync(FsLimits.RootIno, "after-load", new byte[100]);
        Assert.True(added.Ino > highest);
        var chunk = (await loaded.Meta.ReadChunkAsync(added.Ino, 0, CancellationToken.None)).Value;
        Assert.True(chunk[0].Id > slices.Max());
    }

    [Fact]
    public async Task Loading_into_a_formatted_engine_is_refused_and_changes_nothing()
    {
        var dump = await DumpAsync(_volume.Fs.Meta);
        var before = await _volume.ChecksumTreeAsync();

        var refused = await Assert.ThrowsAsync<VolumeException>(async () =>
            await _volume.Fs.Meta.LoadAsync(MetaDumpStream.ReadAsync(new MemoryStream(dump), CancellationToken.None), CancellationToken.None));

        Assert.Contains("already holds", refused.Message);
        Assert.Equal(before, await _volume.ChecksumTreeAsync());
    }

    [Fact]
    public async Task A_truncated_dump_is_refused_and_leaves_the_engine_empty()
    {
        var dump = await DumpAsync(_volume.Fs.Meta);
        var cut = dump.AsSpan(0, dump.Length / 2).ToArray();

        var loadedUrl = AdminVolume.MetaUrlIn(_volume.Dir, "loaded.db");
        await using var fresh = MetaEngines.Open(loadedUrl);
        await Assert.ThrowsAsync<VolumeException>(async () =>
            await fresh.LoadAsync(MetaDumpStream.ReadAsync(new MemoryStream(cut), CancellationToken.None), CancellationToken.None));

        Assert.Null(await fresh.LoadFormatAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_dump_without_a_header_is_refused()
    {
        var body = "{\"kind\":\"entry\",\"parent\":1,\"name\":\"a\",\"ino\":2,\"type\":\"regular\"}\n"u8.ToArray();

        var error = await Assert.ThrowsAsync<VolumeException>(async () =>
        {
            await foreach (var _ in MetaDumpStream.ReadAsync(new MemoryStream(body), CancellationToken.None))
            {
            }
        });

        Assert.Contains("header", error.Message);
    }
}
