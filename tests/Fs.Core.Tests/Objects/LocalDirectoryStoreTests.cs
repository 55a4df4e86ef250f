using Fs.Core.Objects;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Objects;

public sealed class LocalDirectoryStoreTests : ObjectStoreConformance, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    private string Root => Path.Combine(_scratch.Path, "objects");

    protected override IObjectStore NewStore() => new LocalDirectoryStore(Root);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task PutsLeaveOnlyTheObjectFiles()
    {
        for (var i = 0; i < 20; i++)
            await Store.PutAsync($"chunks/0/0/{i}_0_4", new byte[4096], default);
        var files = Directory.GetFiles(Root, "*", SearchOption.AllDirectories);
        Assert.Equal(20, files.Length);
        Assert.DoesNotContain(files, f => Path.GetFileName(f).StartsWith(".tmp.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Puts_link_unnamed_files_where_the_file_system_allows_it()
    {
        await Store.PutAsync("chunks/0/0/1_0_4", new byte[4096], default);
        await Store.PutAsync("chunks/0/0/1_0_4", Bytes("again"), default);

        // The scratch directory is on ext4 or tmpfs, which both have O_TMPFILE: the store must not have fallen back.
        Assert.True(((LocalDirectoryStore)Store).UnnamedFiles);
        Assert.Equal(Bytes("again"), await Store.GetAsync("chunks/0/0/1_0_4", default));
        Assert.Single(Directory.GetFiles(Path.Combine(Root, "chunks/0/0")));
    }

    [Fact]
    public async Task ListSkipsFilesOfUnfinishedPuts()
    {
        await Store.PutAsync("d/real", Bytes("x"), default);
        await File.WriteAllTextAsync(Path.Combine(Root, "d", ".tmp.0123"), "half");
        var listed = new List<string>();
        await foreach (var info in Store.ListAsync("", default))
            listed.Add(info.Key);
        Assert.Equal(["d/real"], listed);
    }

    [Fact]
    public void DescriptionIsTheFileUrl()
    {
        Assert.Equal("file://" + Root, Store.Description);
    }

    [Theory]
    [InlineData(4 << 20)]
    [InlineData(300_001)]
    [InlineData(1 << 20)]
    public async Task A_block_written_from_its_aligned_buffer_reads_back_whole(int length)
    {
        // Page-aligned block memory takes the direct-I/O path, with an unaligned tail written the ordinary way.
        var codec = new BlockCodec(BlockCompression.None);
        var buffer = new BlockBuffer(length);
        Random.Shared.NextBytes(buffer.GetSpan());
        var stored = codec.EncodeInPlace("chunks/0/0/9_0_1", buffer.Memory);

        await Store.PutAsync("chunks/0/0/9_0_1", stored, default);

        var read = await Store.GetAsync("chunks/0/0/9_0_1", default);
        Assert.Equal(stored.ToArray(), read);
        Assert.Equal(buffer.GetSpan().ToArray(), codec.Decode("chunks/0/0/9_0_1", read).ToArray());
    }

    [Theory]
    [InlineData(4 << 20)]
    [InlineData(300_001)]
    [InlineData(1 << 20)]
    public async Task A_block_reads_whole_into_a_block_buffer_directly_or_through_the_page_cache(int length)
    {
        await AssertBlockReadsIntoBuffers(Store, length);
    }

    [RootFact]
    public async Task A_block_reads_whole_into_a_block_buffer_on_tmpfs()
    {
        // tmpfs may refuse direct I/O (it did before Linux 6.6): the store then reads through the page cache.
        using var small = new SmallFileSystem(16 << 20);
        await using var store = new LocalDirectoryStore(small.Path);
        await AssertBlockReadsIntoBuffers(store, 1 << 20);
        await AssertBlockReadsIntoBuffers(store, 300_001);
    }

    /// <summary>Reads a stored block into an aligned block buffer (the direct path) and into unaligned memory (the page cache).</summary>
    private static async Task AssertBlockReadsIntoBuffers(IObjectStore store, int length)
    {
        var codec = new BlockCodec(BlockCompression.None);
        var written = new BlockBuffer(length);
        Random.Shared.NextBytes(written.GetSpan());
        var stored = codec.EncodeInPlace("chunks/0/0/9_0_1", written.Memory).ToArray();
        await store.PutAsync("chunks/0/0/9_0_1", stored, default);

        var aligned = new BlockBuffer(length);
        var read = await store.GetAsync("chunks/0/0/9_0_1", aligned.ObjectSpace, default);
        Assert.Equal(stored.Length, read);
        Assert.True(aligned.GetSpan().SequenceEqual(written.GetSpan()));
        Assert.True(codec.Decode("chunks/0/0/9_0_1", aligned.ObjectSpace[..read]).Span.SequenceEqual(written.GetSpan()));

        var unaligned = new BlockBuffer(length).ObjectSpace[1..];
        read = await store.GetAsync("chunks/0/0/9_0_1", unaligned, default);
        Assert.True(unaligned.Span[..read].SequenceEqual(stored));
    }

    [RootFact]
    public async Task A_full_disk_fails_a_direct_put_and_leaves_no_partial_object()
    {
        using var small = new SmallFileSystem(1 << 20);
        await using var store = new LocalDirectoryStore(small.Path);
        var buffer = new BlockBuffer(2 << 20);

        await Assert.ThrowsAnyAsync<IOException>(() => store.PutAsync("big", new BlockCodec(BlockCompression.None).EncodeInPlace("big", buffer.Memory), default));

        Assert.Null(await store.HeadAsync("big", default));
        Assert.Empty(Directory.GetFiles(small.Path));
    }

    [RootFact]
    public async Task FullDiskFailsThePutAndLeavesNoPartialObject()
    {
        using var small = new SmallFileSystem(1 << 20);
        await using var store = new LocalDirectoryStore(small.Path);
        await store.PutAsync("kept", new byte[100_000], default);

        var tooBig = new byte[2 << 20];
        await Assert.ThrowsAnyAsync<IOException>(() => store.PutAsync("big", tooBig, default));

        Assert.Null(await store.HeadAsync("big", default));
        Assert.Equal(new[] { "kept" }, Directory.GetFiles(small.Path).Select(Path.GetFileName));
        Assert.Equal(100_000, (await store.GetAsync("kept", default)).Length);
        // The space of the failed put came back: a put that fits succeeds.
        await store.PutAsync("after", new byte[500_000], default);
    }

    [Fact]
    public void OpenAcceptsFileUrlsAndAbsolutePaths()
    {
        Assert.Equal("file:///var/lib/objects", ObjectStores.Open("file:///var/lib/objects").Description);
        Assert.Equal("file:///var/lib/objects", ObjectStores.Open("/var/lib/objects/").Description);
        Assert.IsType<LocalDirectoryStore>(ObjectStores.Open("file:///srv/my%20objects"));
        Assert.Equal("file:///srv/my objects", ObjectStores.Open("file:///srv/my%20objects").Description);
    }

    [Theory]
    [InlineData("gs://bucket/prefix")]
    [InlineData("http://host/x")]
    [InlineData("relative/path")]
    [InlineData("file://host/path")]
    public void OpenRejectsWhatItCannotServeAndSaysWhatWorks(string url)
    {
        var error = Assert.Throws<VolumeException>(() => ObjectStores.Open(url));
        Assert.Contains("file://", error.Message);
        Assert.Contains(url, error.Message);
    }

    [Fact]
    public async Task CreateMakesTheDirectory()
    {
        var nested = Path.Combine(_scratch.Path, "x", "y", "objects");
        await using var store = new LocalDirectoryStore(nested);
        await store.CreateAsync(default);
        Assert.True(Directory.Exists(nested));
    }
}

/// <summary>The same conformance suite for the way puts go where unnamed files are not available: a temp file renamed.</summary>
public sealed class LocalDirectoryStoreTempFileTests : ObjectStoreConformance, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    protected override IObjectStore NewStore() => new LocalDirectoryStore(Path.Combine(_scratch.Path, "objects"), unnamedFiles: false);

    public void Dispose() => _scratch.Dispose();
}
