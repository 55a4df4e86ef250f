using System.CommandLine;
using Appliance.Admin;
using Appliance.Configuration;
using Appliance.Hosting;
using Fs.Core.Cache;
using Fs.Core.Metrics;
using Fs.Core.Vfs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace Appliance.Cli;

/// <summary><c>appliance serve</c>: formats the volume if it is new, opens it, and serves it until SIGINT/SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Disk block cache directory [default: DATA/cache]", HelpName = "DIR" };
        var cacheSize = GlobalOptions.Size("--cache-size", "Disk block cache limit [default: 10G]");
        var memoryCache = GlobalOptions.Size("--memory-cache", "Memory block cache limit [default: an eighth of memory, 256M to 16G]");
        var encryptKey = new Option<string?>("--encrypt-key") { Description = "Key file of an encrypted volume", HelpName = "FILE" };
        var admin = new Option<string?>("--admin")
        {
            Description = $"Admin HTTP endpoint (/metrics, /healthz, /loglevel, /cache/drop), or off [default: 127.0.0.1:{AdminEndpoint.DefaultPort}]",
            HelpName = "ADDR:PORT|off",
        };
        var sessionTimeout = new Option<double?>("--session-timeout")
        {
            Description = "Seconds without a heartbeat after which the other appliances of the volume clean this one's session up [default: 60]",
            HelpName = "SECONDS",
        };
        var webdav = new WebDavFlags();
        var fuse = new FuseFlags();
        var nfs = new NfsFlags();

        var command = new Command("serve", "Serve the volume (formatting it first when it is new)")
        {
            cacheDir, cacheSize, memoryCache, encryptKey, admin, sessionTimeout,
        };
        webdav.AddTo(command);
        fuse.AddTo(command);
        nfs.AddTo(command);
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var location = context.ResolveLocation(parse.GetValue(cacheDir));
            var adminEndpoint = AdminEndpoint.Parse(context.Settings.Get(parse.GetValue(admin), SettingKeys.Admin));
            var metrics = new FileSystemMetrics(new MetricsRegistry());
            var defaults = new FileSystemOptions { MetaUrl = location.MetaUrl };
            var timeout = context.Settings.GetSeconds(parse.GetValue(sessionTimeout), SettingKeys.SessionTimeout) ?? defaults.SessionTimeout;
            var fileSystem = defaults with
            {
                StorageUrl = location.StorageGiven ? location.StorageUrl : null,
                CacheDir = location.CacheDirectory,
                DiskCacheBytes = context.Settings.GetSize(parse.GetValue(cacheSize), SettingKeys.CacheSize) ?? defaults.DiskCacheBytes,
                MemoryCacheBytes = context.Settings.GetSize(parse.GetValue(memoryCache), SettingKeys.MemoryCache)
                    ?? FileSystemOptions.MemoryCacheFor(SystemMemoryGauge.Instance.Read()?.TotalBytes ?? 0),
                EncryptKeyFile = context.Settings.Get(parse.GetValue(encryptKey), SettingKeys.EncryptKey) is { } key
                    ? Path.GetFullPath(key, context.WorkingDirectory)
                    : null,
                Metrics = metrics,
                SessionTimeout = timeout,
                // A dozen beats per timeout (5 s for the default 60 s), so a few slow round trips do not expire a live appliance.
                HeartbeatInterval = timeout / 12,
            };

            // RunAsync disposes the host (asynchronously, as VolumeService needs) whether it stops cleanly or fails to start.
            var host = BuildHost(context, new VolumeServiceOptions(location, fileSystem, FormatCommand.DefaultName),
                webdav.Read(parse, context.WorkingDirectory), fuse.Read(parse, context.WorkingDirectory, location.DataDirectory),
                nfs.Read(parse, context.Settings), adminEndpoint, metrics.Registry);
            await host.RunAsync(token).ConfigureAwait(false);
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    /// <summary>
    /// The generic host: the volume, the admin endpoint (unless off), then the doors (each a hosted service depending on
    /// <see cref="VolumeService"/>), then the ready line.
    /// </summary>
    private static IHost BuildHost(
        CommandContext context, VolumeServiceOptions volume, Protocols.WebDav.WebDavOptions? webdav, FuseServiceOptions? fuse,
        Protocols.Nfs.NfsServerOptions? nfs, AdminEndpoint admin, MetricsRegistry registry)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            // Configuration and logging are already built the CLI's way (flags over APPLIANCE_* over appsettings.json).
            DisableDefaults = true,
            ApplicationName = "appliance",
            ContentRootPath = context.WorkingDirectory,
        });
        builder.Configuration.AddConfiguration(context.Settings.Configuration);
        builder.Services.AddSerilog(context.Logger, dispose: false);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSingleton(volume);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton<VolumeService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<VolumeService>());
        // After the volume, so a volume that cannot be opened fails the command before anything listens.
        if (admin.Endpoint is not null)
        {
            builder.Services.AddSingleton(admin);
            builder.Services.AddSingleton(context.LevelSwitch);
            builder.Services.AddSingleton(sp => new VolumeHealth(
                () => sp.GetRequiredService<VolumeService>().OpenFileSystem?.Meta, VolumeHealth.DefaultTimeout));
            builder.Services.AddSingleton(sp => new AdminServer(admin, registry, sp.GetRequiredService<VolumeHealth>(), context.LevelSwitch,
                sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>(), () => sp.GetRequiredService<VolumeService>().OpenFileSystem));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<AdminServer>());
        }
        // Doors are registered here, between the volume and the announcement, so they start after the one and before the other.
        if (webdav is not null)
        {
            builder.Services.AddSingleton(webdav);
            builder.Services.AddSingleton<WebDavService>();
            builder.Services.AddSingleton<IDoor>(sp => sp.GetRequiredService<WebDavService>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<WebDavService>());
        }
        if (fuse is not null)
        {
            builder.Services.AddSingleton(fuse);
            builder.Services.AddSingleton<FuseService>();
            builder.Services.AddSingleton<IDoor>(sp => sp.GetRequiredService<FuseService>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<FuseService>());
        }
        if (nfs is not null)
        {
            builder.Services.AddSingleton(nfs);
            builder.Services.AddSingleton<NfsService>();
            builder.Services.AddSingleton<IDoor>(sp => sp.GetRequiredService<NfsService>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<NfsService>());
        }
        builder.Services.AddHostedService<ReadyAnnouncement>();
        return builder.Build();
    }
}
