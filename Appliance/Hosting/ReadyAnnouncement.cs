using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Appliance.Hosting;

/// <summary>Logs the one "ready" line once every hosted service (the volume, then each door) has started.</summary>
public sealed partial class ReadyAnnouncement(
    VolumeService volume,
    IEnumerable<IDoor> doors,
    IHostApplicationLifetime lifetime,
    ILogger<ReadyAnnouncement> logger) : IHostedService
{
    private CancellationTokenRegistration _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = lifetime.ApplicationStarted.Register(Announce);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration.Dispose();
        return Task.CompletedTask;
    }

    private void Announce()
    {
        var fs = volume.FileSystem;
        var serving = string.Join(", ", doors.Select(d => d.Description));
        LogReady(fs.Format.Name, fs.Format.Uuid, fs.Meta.Description, fs.ObjectStore.Description, serving.Length == 0 ? "(no doors yet)" : serving);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ready: volume {Name} ({Uuid}) meta={Meta} storage={Storage} serving: {Doors}")]
    private partial void LogReady(string name, Guid uuid, string meta, string storage, string doors);
}
