using Fs.Core.Meta.Sqlite;
using Fs.Core.Metrics;
using Fs.Core.Objects;
using Fs.Core.Tests.Objects;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Metrics;

/// <summary>The core's metrics on a real embedded volume: what an operator's dashboard would show as clients work.</summary>
public sealed class FileSystemMetricsTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Operations_bytes_round_trips_handles_and_cache_move_as_a_door_works()
    {
        var metrics = new FileSystemMetrics(new MetricsRegistry());
        await using var fs = await OpenAsync(metrics);
        var data = new byte[300_000];
        Random.Shared.NextBytes(data);
        var before = await ScrapeAsync(metrics);

        FileHandle handle;
        using (FileSystem.EnterDoor("webdav", "192.0.2.7 alice"))
        {
            Assert.Equal(Errno.ENOENT, (await fs.LookupAsync(Caller.Root, FsLimits.RootIno, "missing")).Error);
            var created = await fs.CreateAsync(Caller.Root, FsLimits.RootIno, "report.bin", 0x1A4, OpenFlags.ReadWrite);
            handle = created.Value.Handle;
            Assert.Equal(data.Length, (await fs.WriteAsync(handle, 0, data)).Value);
            Assert.Equal(Errno.OK, await fs.FlushAsync(handle));
        }
        var whileOpen = await ScrapeAsync(metrics);
        using (FileSystem.EnterDoor("webdav"))
        {
            var buffer = new byte[data.Length];
            Assert.Equal(data.Length, (await fs.ReadAsync(handle, 0, buffer)).Value);
            Assert.Equal(data.Length, (await fs.ReadAsync(handle, 0, buffer)).Value);
            Assert.Equal(Errno.OK, await fs.ReleaseAsync(handle));
        }
        await fs.GetAttrAsync(FsLimits.RootIno);
        var after = await ScrapeAsync(metrics);

        Assert.Equal(1, after.Value("appliance_fs_operation_duration_seconds_count", ("door", "webdav"), ("op", "write")));
        Assert.Equal(2, after.Value("appliance_fs_operation_duration_seconds_count", ("door", "webdav"), ("op", "read")));
        Assert.Equal(1, after.Value("appliance_fs_operation_duration_seconds_count", ("door", "core"), ("op", "getattr")));
        Assert.Equal(1, after.Value("appliance_fs_operation_errors_total", ("door", "webdav"), ("op", "lookup"), ("errno", "ENOENT")));
        Assert.Equal(data.Length, after.Value("appliance_fs_written_bytes_total", ("door", "webdav")));
        Assert.Equal(2 * data.Length, after.Value("appliance_fs_read_bytes_total", ("door", "webdav")));

        Assert.Equal(1, whileOpen.Value("appliance_fs_open_handles"));
        Assert.Equal(0, after.Value("appliance_fs_open_handles"));
        Assert.Equal(1, after.Value("appliance_sessions"));
        // Usage is counted in 4 KiB units, as df shows it.
        Assert.InRange(after.Value("appliance_volume_used_bytes")!.Value, data.Length, data.Length + 4096);

        // The flush committed a slice (a metadata round trip) after uploading its blocks (object-store puts).
        Assert.True(Delta(before, after, "appliance_meta_request_duration_seconds_count", ("op", "write_chunk")) >= 1);
        Assert.True(Delta(before, after, "appliance_object_store_request_duration_seconds_count", ("op", "put")) >= 1);
        Assert.True(after.Value("appliance_object_store_bytes_total", ("direction", "out")) > 0);
        // The second read of the same bytes came from the memory tier.
        Assert.True(after.Value("appliance_block_cache_hits_total", ("tier", "memory")) > 0);
    }

    [Fact]
    public async Task A_failing_object_store_request_counts_as_an_error_and_a_missing_object_does_not()
    {
        var metrics = new FileSystemMetrics(new MetricsRegistry());
        var root = Path.Combine(_dir.Path, "not-a-directory");
        await File.WriteAllTextAsync(root, "a file where the store's directory should be");
        await using var store = new InstrumentedObjectStore(new LocalDirectoryStore(root), metrics);

        await Assert.ThrowsAnyAsync<IOException>(() => store.PutAsync("chunks/0/1_0_4", new byte[4], CancellationToken.None));
        await using var good = new InstrumentedObjectStore(new LocalDirectoryStore(Path.Combine(_dir.Path, "objects")), metrics);
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => good.GetAsync("chunks/0/9_0_4", CancellationToken.None));

        var families = PrometheusText.Parse(metrics.Registry.Render());
        Assert.Equal(1, families.Value("appliance_object_store_errors_total", ("op", "put")));
        Assert.Null(families.Value("appliance_object_store_errors_total", ("op", "get")));
        Assert.Equal(1, families.Value("appliance_object_store_request_duration_seconds_count", ("op", "get")));
    }

    [Fact]
    public async Task A_metadata_engine_failure_counts_as_an_error_and_an_errno_answer_does_not()
    {
        var metrics = new FileSystemMetrics(new MetricsRegistry());
        var engine = new SqliteMetaEngine(Path.Combine(_dir.Path, "meta.db"));
        var meta = new InstrumentedMetaEngine(engine, metrics);

        var missing = await meta.GetAttrAsync(12345, CancellationToken.None);
        Assert.False(missing.Ok);
        await engine.DisposeAsync();
        await Assert.ThrowsAnyAsync<ObjectDisposedException>(async () => await meta.GetAttrAsync(FsLimits.RootIno, CancellationToken.None));

        var families = PrometheusText.Parse(metrics.Registry.Render());
        Assert.Equal(2, families.Value("appliance_meta_request_duration_seconds_count", ("op", "get_attr")));
        Assert.Equal(1, families.Value("appliance_meta_errors_total", ("op", "get_attr")));
    }

    [Fact]
    public void Door_objects_are_labelled_by_their_protocol()
    {
        Assert.Equal("fake", DoorLabel.Of(new Protocols.Fake.Rpc.FakeProgram()));
        Assert.Equal("nfs", DoorLabel.Of("nfs"));
        Assert.Equal(DoorLabel.Core, DoorLabel.Of(null));
    }

    private async Task<FileSystem> OpenAsync(FileSystemMetrics metrics)
    {
        var metaUrl = $"sqlite://{_dir.Path}/meta.db";
        var storageUrl = $"file://{_dir.Path}/objects";
        await FileSystem.FormatAsync(new FormatOptions { Name = "metrics", MetaUrl = metaUrl, StorageUrl = storageUrl, BlockSize = 64 << 10 });
        return await FileSystem.OpenAsync(new FileSystemOptions
        {
            MetaUrl = metaUrl,
            MemoryCacheBytes = 16L << 20,
            WriteBufferBytes = 16L << 20,
            Metrics = metrics,
        });
    }

    private static async Task<IReadOnlyDictionary<string, PrometheusFamily>> ScrapeAsync(FileSystemMetrics metrics) =>
        PrometheusText.Parse(await metrics.Registry.RenderAsync(CancellationToken.None));

    private static double Delta(
        IReadOnlyDictionary<string, PrometheusFamily> before, IReadOnlyDictionary<string, PrometheusFamily> after, string name, params (string, string)[] labels) =>
        (after.Value(name, labels) ?? 0) - (before.Value(name, labels) ?? 0);
}
