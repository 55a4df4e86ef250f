using System.Net;
using System.Net.Sockets;
using Appliance.Admin;
using Fs.Core.Meta;
using Fs.Core.Meta.Sqlite;
using Fs.Core.Metrics;
using Fs.Core.Tests.Metrics;
using Fs.Core.Vfs;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;

namespace Appliance.Tests.Admin;

/// <summary>The admin endpoint on real Kestrel over a real embedded volume, scraped and probed over HTTP.</summary>
public sealed class AdminServerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appliance-admin-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly MetricsRegistry _registry = new();
    private readonly LoggingLevelSwitch _level = new(LogEventLevel.Information);
    private readonly CapturedLog _log = new();
    private Serilog.Core.Logger _logger = null!;
    private SerilogLoggerFactory _loggerFactory = null!;
    private FileSystem? _fs;
    private AdminServer? _admin;

    public Task InitializeAsync()
    {
        _logger = new LoggerConfiguration().MinimumLevel.ControlledBy(_level).WriteTo.Sink(_log).CreateLogger();
        _loggerFactory = new SerilogLoggerFactory(_logger);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
            await _admin.DisposeAsync();
        if (_fs is not null)
            await _fs.DisposeAsync();
        _http.Dispose();
        _loggerFactory.Dispose();
        await _logger.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Metrics_parse_strictly_and_count_the_operations_of_each_door()
    {
        var fs = await OpenVolumeAsync();
        var admin = await StartAdminAsync(() => fs.Meta);

        var before = await ScrapeAsync(admin);
        using (FileSystem.EnterDoor("nfs", "192.0.2.10"))
        {
            await fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "projects", 0x1ED);
            var (_, handle) = (await fs.CreateAsync(Caller.Root, FsLimits.RootIno, "notes.txt", 0x1A4, OpenFlags.ReadWrite)).Value;
            await fs.WriteAsync(handle, 0, "hello, metrics"u8.ToArray());
            await fs.ReleaseAsync(handle);
        }
        var after = await ScrapeAsync(admin);

        Assert.Null(before.Value("appliance_fs_operation_duration_seconds_count", ("door", "nfs"), ("op", "mkdir")));
        Assert.Equal(1, after.Value("appliance_fs_operation_duration_seconds_count", ("door", "nfs"), ("op", "mkdir")));
        Assert.Equal(1, after.Value("appliance_fs_operation_duration_seconds_count", ("door", "nfs"), ("op", "create")));
        Assert.Equal(14, after.Value("appliance_fs_written_bytes_total", ("door", "nfs")));
        Assert.True(after.Value("appliance_meta_request_duration_seconds_count", ("op", "mknod")) >= 1);
        Assert.True(after.Value("appliance_meta_request_duration_seconds_count", ("op", "create")) >= 1);
        Assert.Equal(1, after.Value("appliance_sessions"));
        Assert.Equal(1, after.Value("appliance_build_info", ("version", after["appliance_build_info"].Samples[0].Labels["version"])));
        Assert.Equal("histogram", after["appliance_object_store_request_duration_seconds"].Type);
    }

    [Fact]
    public async Task Metrics_are_served_with_the_exposition_content_type_and_other_methods_are_refused()
    {
        var fs = await OpenVolumeAsync();
        var admin = await StartAdminAsync(() => fs.Meta);

        using var response = await _http.GetAsync(new Uri(admin.Address!, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        using var post = await _http.PostAsync(new Uri(admin.Address!, "/metrics"), null);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        using var unknown = await _http.GetAsync(new Uri(admin.Address!, "/nothing"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Healthz_is_200_while_the_engine_answers_and_503_when_it_refuses_or_hangs()
    {
        var engine = new SqliteMetaEngine(Path.Combine(_dir, "meta.db"));
        await engine.FormatAsync(new VolumeFormat { Name = "health", Uuid = Guid.NewGuid(), Storage = "file:///unused", HandleKey = "00" }, default);
        var (faulty, control) = FaultyMetaEngine.Wrap(engine);
        try
        {
            var admin = await StartAdminAsync(() => faulty, TimeSpan.FromMilliseconds(500));

            Assert.Equal(HttpStatusCode.OK, (await HealthAsync(admin)).Status);

            control.Current = FaultyMetaEngine.Fault.Refuse;
            var refused = await HealthAsync(admin);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
            Assert.Contains("connection refused", refused.Body);

            control.Current = FaultyMetaEngine.Fault.Hang;
            var hung = await HealthAsync(admin);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, hung.Status);
            Assert.Contains("did not answer within 0.5 s", hung.Body);

            control.Current = FaultyMetaEngine.Fault.None;
            control.ReleaseHung();
            Assert.Equal(HttpStatusCode.OK, (await HealthAsync(admin)).Status);
        }
        finally
        {
            control.ReleaseHung();
            await engine.DisposeAsync();
        }
    }

    [Fact]
    public async Task Healthz_is_503_while_the_volume_is_not_open()
    {
        var admin = await StartAdminAsync(() => null);
        var health = await HealthAsync(admin);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.Status);
        Assert.Contains("not open", health.Body);
    }

    [Fact]
    public async Task Request_logs_appear_only_after_the_level_is_switched_to_debug_at_run_time()
    {
        var fs = await OpenVolumeAsync();
        var admin = await StartAdminAsync(() => fs.Meta);

        using (FileSystem.EnterDoor("webdav", "198.51.100.4 bob"))
            await fs.GetAttrAsync(FsLimits.RootIno);
        Assert.DoesNotContain(_log.Events, e => e.Level == LogEventLevel.Debug);

        using var set = await _http.PostAsync(new Uri(admin.Address!, "/loglevel?level=debug"), null);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("debug", (await _http.GetStringAsync(new Uri(admin.Address!, "/loglevel"))).Trim());
        using (FileSystem.EnterDoor("webdav", "198.51.100.4 bob"))
            await fs.GetAttrAsync(FsLimits.RootIno);

        var request = Assert.Single(_log.Events, e => e.Level == LogEventLevel.Debug && e.Properties.ContainsKey("Op"));
        Assert.Equal("\"webdav\"", request.Properties["Door"].ToString());
        Assert.Equal("\"getattr\"", request.Properties["Op"].ToString());
        Assert.Equal("1", request.Properties["Ino"].ToString());
        Assert.Equal("\"198.51.100.4 bob\"", request.Properties["Client"].ToString());

        using var bad = await _http.PostAsync(new Uri(admin.Address!, "/loglevel?level=chatty"), null);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(LogEventLevel.Debug, _level.MinimumLevel);
    }

    [Fact]
    public async Task Cache_drop_empties_the_memory_cache_and_the_data_reads_back_from_the_store()
    {
        var fs = await OpenVolumeAsync();
        var admin = await StartAdminAsync(() => fs.Meta);
        var data = new byte[3 << 20];
        new Random(7).NextBytes(data);
        var (attr, handle) = (await fs.CreateAsync(Caller.Root, FsLimits.RootIno, "warm.bin", 0x1A4, OpenFlags.ReadWrite)).Value;
        await fs.WriteAsync(handle, 0, data);
        await fs.ReleaseAsync(handle);
        var held = fs.CacheStats.MemoryBytes;
        Assert.True(held >= data.Length, $"the written blocks should be in the memory cache, it holds {held} bytes");
        Assert.Equal(fs.CacheStats.MemoryLimitBytes, (await ScrapeAsync(admin)).Value("appliance_block_cache_limit_bytes"));

        using var dropped = await _http.PostAsync(new Uri(admin.Address!, "/cache/drop"), null);
        Assert.Equal(HttpStatusCode.OK, dropped.StatusCode);
        Assert.Equal($"dropped {held >> 20} MiB from the memory cache\n", await dropped.Content.ReadAsStringAsync());
        Assert.Equal(0, fs.CacheStats.MemoryBytes);
        Assert.Contains(_log.Events, e => e.RenderMessage().Contains("memory cache dropped", StringComparison.Ordinal));

        var gets = fs.CacheStats.StoreGets;
        var read = new byte[data.Length];
        handle = (await fs.OpenAsync(Caller.Root, attr.Ino, OpenFlags.ReadOnly)).Value;
        Assert.Equal(data.Length, (await fs.ReadAsync(handle, 0, read)).Value);
        await fs.ReleaseAsync(handle);
        Assert.Equal(data, read);
        Assert.True(fs.CacheStats.StoreGets > gets);

        using var get = await _http.GetAsync(new Uri(admin.Address!, "/cache/drop"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal("POST", string.Join(",", get.Content.Headers.Allow));
    }

    [Fact]
    public async Task Cache_drop_is_503_while_the_volume_is_not_open()
    {
        _admin = new AdminServer(new AdminEndpoint(new IPEndPoint(IPAddress.Loopback, 0), Given: true), _registry,
            new VolumeHealth(() => null, VolumeHealth.DefaultTimeout), _level, _loggerFactory, () => null);
        await _admin.StartAsync(default);
        using var response = await _http.PostAsync(new Uri(_admin.Address!, "/cache/drop"), null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task A_taken_default_port_moves_to_a_free_one_but_a_chosen_port_fails()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = (IPEndPoint)squatter.LocalEndpoint;

        await using var moved = new AdminServer(new AdminEndpoint(taken, Given: false), new MetricsRegistry(),
            new VolumeHealth(() => null, VolumeHealth.DefaultTimeout), _level, _loggerFactory, () => null);
        await moved.StartAsync(default);
        Assert.NotEqual(taken.Port, moved.Address!.Port);
        Assert.Contains(_log.Events, e => e.Level == LogEventLevel.Warning && e.RenderMessage().Contains("in use", StringComparison.Ordinal));

        await using var chosen = new AdminServer(new AdminEndpoint(taken, Given: true), new MetricsRegistry(),
            new VolumeHealth(() => null, VolumeHealth.DefaultTimeout), _level, _loggerFactory, () => null);
        await Assert.ThrowsAnyAsync<IOException>(() => chosen.StartAsync(default));
    }

    [Theory]
    [InlineData(null, "127.0.0.1:9567", false)]
    [InlineData("0.0.0.0:9100", "0.0.0.0:9100", true)]
    [InlineData("[::1]:9567", "[::1]:9567", true)]
    [InlineData("OFF", null, true)]
    public void Admin_addresses_parse(string? text, string? endpoint, bool given)
    {
        var parsed = AdminEndpoint.Parse(text);
        Assert.Equal(endpoint, parsed.Endpoint?.ToString());
        Assert.Equal(given, parsed.Given);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost:9567")]
    [InlineData("9567")]
    public void Admin_addresses_without_an_ip_and_port_are_refused(string text) =>
        Assert.Throws<Appliance.Configuration.InvalidSettingException>(() => AdminEndpoint.Parse(text));

    private async Task<FileSystem> OpenVolumeAsync()
    {
        var metaUrl = $"sqlite://{_dir}/meta.db";
        await FileSystem.FormatAsync(new FormatOptions { Name = "admin", MetaUrl = metaUrl, StorageUrl = $"file://{_dir}/objects" });
        _fs = await FileSystem.OpenAsync(new FileSystemOptions
        {
            MetaUrl = metaUrl,
            MemoryCacheBytes = 16L << 20,
            WriteBufferBytes = 16L << 20,
            Metrics = new FileSystemMetrics(_registry),
        }, _loggerFactory);
        return _fs;
    }

    private async Task<AdminServer> StartAdminAsync(Func<IMetaEngine?> engine, TimeSpan? healthTimeout = null)
    {
        _admin = new AdminServer(new AdminEndpoint(new IPEndPoint(IPAddress.Loopback, 0), Given: true), _registry,
            new VolumeHealth(engine, healthTimeout ?? VolumeHealth.DefaultTimeout), _level, _loggerFactory, () => _fs);
        await _admin.StartAsync(default);
        return _admin;
    }

    private async Task<IReadOnlyDictionary<string, PrometheusFamily>> ScrapeAsync(AdminServer admin) =>
        PrometheusText.Parse(await _http.GetStringAsync(new Uri(admin.Address!, "/metrics")));

    private async Task<(HttpStatusCode Status, string Body)> HealthAsync(AdminServer admin)
    {
        using var response = await _http.GetAsync(new Uri(admin.Address!, "/healthz"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
