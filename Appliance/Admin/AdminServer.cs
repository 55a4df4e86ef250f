using System.Diagnostics;
using System.Net;
using System.Reflection;
using Appliance.Configuration;
using Fs.Core.Metrics;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Core;

namespace Appliance.Admin;

/// <summary>
/// The admin HTTP endpoint of <c>serve</c>, on Kestrel: <c>GET /metrics</c> (Prometheus text format), <c>GET /healthz</c>
/// (200 when the metadata engine answers, 503 otherwise), <c>GET /loglevel</c> and <c>POST /loglevel?level=debug</c>
/// (the log level, changed without a restart), <c>POST /cache/drop</c> (empties the memory cache of blocks, as writing to
/// /proc/sys/vm/drop_caches empties the kernel's: for cold-read measurements and after bulk jobs). Started right after the
/// volume is open and stopped before it closes.
/// </summary>
public sealed partial class AdminServer : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(10);

    private readonly AdminEndpoint _endpoint;
    private readonly MetricsRegistry _registry;
    private readonly VolumeHealth _health;
    private readonly LoggingLevelSwitch _levelSwitch;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<AdminServer> _logger;
    private readonly Func<FileSystem?> _volume;
    private WebApplication? _app;

    /// <param name="volume">The open volume, or null while it is not open.</param>
    public AdminServer(AdminEndpoint endpoint, MetricsRegistry registry, VolumeHealth health, LoggingLevelSwitch levelSwitch,
        ILoggerFactory loggerFactory, Func<FileSystem?> volume)
    {
        _volume = volume;
        _endpoint = endpoint;
        _registry = registry;
        _health = health;
        _levelSwitch = levelSwitch;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<AdminServer>();
        var version = typeof(AdminServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        registry.Gauge("appliance_build_info", "Always 1; the version label says which appliance build runs.", "version")
            .WithLabels(version).Set(1);
        registry.Gauge("process_start_time_seconds", "When the process started, in seconds since the Unix epoch.")
            .Series.Set(new DateTimeOffset(Process.GetCurrentProcess().StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>The address it listens on once started, e.g. http://127.0.0.1:9567.</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var endpoint = _endpoint.Endpoint ?? throw new InvalidOperationException("the admin endpoint is off");
        try
        {
            _app = await StartOnAsync(endpoint, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (!_endpoint.Given && e.InnerException is AddressInUseException)
        {
            // Several appliances on one host (or a test run) would all want the default port: like JuiceFS, the default
            // moves to a free port rather than failing; an address the operator chose fails instead.
            LogDefaultPortTaken(endpoint.ToString());
            _app = await StartOnAsync(new IPEndPoint(endpoint.Address, 0), cancellationToken).ConfigureAwait(false);
        }
        var bound = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        Address = new Uri(bound);
        LogListening(Address.ToString().TrimEnd('/'));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _app, null) is { } app)
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    private async Task<WebApplication> StartOnAsync(IPEndPoint endpoint, CancellationToken ct)
    {
        // The empty builder reads no configuration files and adds no sinks: the admin port is configured by --admin only,
        // and logs go to the appliance's own logger.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "appliance-admin" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint);
        });
        builder.Services.AddLogging();
        builder.Services.Replace(ServiceDescriptor.Singleton(_loggerFactory));
        var app = builder.Build();
        app.Run(HandleAsync);
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
            return app;
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private Task HandleAsync(HttpContext context) => context.Request.Path.Value switch
    {
        "/metrics" => Only(context, HttpMethods.Get, MetricsAsync),
        "/healthz" => Only(context, HttpMethods.Get, HealthAsync),
        "/loglevel" => HttpMethods.IsPost(context.Request.Method) ? SetLogLevelAsync(context) : Only(context, HttpMethods.Get, GetLogLevelAsync),
        "/cache/drop" => HttpMethods.IsPost(context.Request.Method) ? DropCacheAsync(context) : NotAllowed(context, HttpMethods.Post),
        _ => Text(context, StatusCodes.Status404NotFound, "not found; try /metrics, /healthz, /loglevel or /cache/drop\n"),
    };

    private static Task Only(HttpContext context, string method, Func<HttpContext, Task> handler)
    {
        if (string.Equals(context.Request.Method, method, StringComparison.OrdinalIgnoreCase) || HttpMethods.IsHead(context.Request.Method))
            return handler(context);
        return NotAllowed(context, method);
    }

    private static Task NotAllowed(HttpContext context, string method)
    {
        context.Response.Headers.Allow = method;
        return Text(context, StatusCodes.Status405MethodNotAllowed, $"use {method}\n");
    }

    private Task DropCacheAsync(HttpContext context)
    {
        if (_volume() is not { } fs)
            return Text(context, StatusCodes.Status503ServiceUnavailable, "the volume is not open\n");
        var dropped = fs.DropMemoryCache();
        LogCacheDropped(dropped >> 20, context.Connection.RemoteIpAddress?.ToString() ?? "-");
        return Text(context, StatusCodes.Status200OK, $"dropped {dropped >> 20} MiB from the memory cache\n");
    }

    private async Task MetricsAsync(HttpContext context)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        limit.CancelAfter(ScrapeTimeout);
        string text;
        try
        {
            text = await _registry.RenderAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            await Text(context, StatusCodes.Status503ServiceUnavailable, $"collecting metrics took longer than {ScrapeTimeout.TotalSeconds:0} s\n").ConfigureAwait(false);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = MetricsRegistry.ContentType;
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task HealthAsync(HttpContext context)
    {
        var report = await _health.CheckAsync(context.RequestAborted).ConfigureAwait(false);
        if (!report.Healthy)
            LogUnhealthy(report.Detail);
        await Text(context, report.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, report.Detail + "\n").ConfigureAwait(false);
    }

    private Task GetLogLevelAsync(HttpContext context) =>
        Text(context, StatusCodes.Status200OK, _levelSwitch.MinimumLevel.ToString().ToLowerInvariant() + "\n");

    private Task SetLogLevelAsync(HttpContext context)
    {
        var text = context.Request.Query["level"].ToString();
        if (!LogLevels.TryParse(text, out var level))
            return Text(context, StatusCodes.Status400BadRequest, $"level '{text}' is not one of {LogLevels.Accepted}\n");
        var previous = _levelSwitch.MinimumLevel;
        _levelSwitch.MinimumLevel = level;
        // Logged at warning so that the change itself shows whatever the new level is.
        LogLevelChanged(previous.ToString().ToLowerInvariant(), level.ToString().ToLowerInvariant(), context.Connection.RemoteIpAddress?.ToString() ?? "-");
        return Text(context, StatusCodes.Status200OK, level.ToString().ToLowerInvariant() + "\n");
    }

    private static Task Text(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(body, context.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "admin endpoint on {Address}: /metrics, /healthz, /loglevel, /cache/drop")]
    private partial void LogListening(string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "admin port {Endpoint} is in use; listening on a free port instead (give --admin ADDR:PORT to choose)")]
    private partial void LogDefaultPortTaken(string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "health check failed: {Detail}")]
    private partial void LogUnhealthy(string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "memory cache dropped ({DroppedMiB} MiB) by admin request from {Remote}")]
    private partial void LogCacheDropped(long droppedMiB, string remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "log level changed from {Previous} to {Level} by admin request from {Remote}")]
    private partial void LogLevelChanged(string previous, string level, string remote);
}
