using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Appliance.Hosting;

/// <summary>
/// Once every hosted service (the volume, then each door) has started: records the doors in the session, so `appliance
/// status` lists what each appliance serves, and logs the one "ready" line.
/// </summary>
public sealed partial class ReadyAnnouncement(
    VolumeService volume,
    IEnumerable<IDoor> doors,
    IHostApplicationLifetime lifetime,
    ILogger<ReadyAnnouncement> logger) : IHostedService
{
    private CancellationTokenRegistration _registration;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Started last (hosted services start in order), so every door listens and its description names the real port.
        try
        {
            await volume.FileSystem.SetSessionDoorsAsync(Serving(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The doors serve either way; only the status listing lacks them.
            LogDoorsNotRecorded(e);
        }
        _registration = lifetime.ApplicationStarted.Register(Announce);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration.Dispose();
        return Task.CompletedTask;
    }

    private string Serving() => string.Join(", ", doors.Select(d => d.Description));

    private void Announce()
    {
        var fs = volume.FileSystem;
        var serving = Serving();
        LogReady(fs.Format.Name, fs.Format.Uuid, fs.Meta.Description, fs.ObjectStore.Description, serving.Length == 0 ? "(no doors yet)" : serving);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ready: volume {Name} ({Uuid}) meta={Meta} storage={Storage} serving: {Doors}")]
    private partial void LogReady(string name, Guid uuid, string meta, string storage, string doors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "recording this appliance's doors in its session failed; appliance status will not list them")]
    private partial void LogDoorsNotRecorded(Exception e);
}
