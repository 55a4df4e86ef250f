using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Protocols.Fuse;

namespace Appliance.Tests.EndToEnd;

/// <summary>
/// One <c>appliance serve</c> process with all three doors on ports and a mount point of its own: NFS (no portmapper),
/// WebDAV and, where FUSE is usable, a mount.
/// </summary>
public sealed class ServingAppliance : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private ServingAppliance(ChildProcess process, string mountPoint, bool mounted, int nfsPort, int webDavPort)
    {
        Process = process;
        MountPoint = mountPoint;
        Mounted = mounted;
        NfsPort = nfsPort;
        WebDavPort = webDavPort;
        WebDav = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{webDavPort}/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public ChildProcess Process { get; }

    public string MountPoint { get; }

    /// <summary>False where FUSE is not usable (then the appliance serves without a mount).</summary>
    public bool Mounted { get; }

    public int NfsPort { get; }

    public int WebDavPort { get; }

    public HttpClient WebDav { get; }

    public static async Task<ServingAppliance> StartAsync(string dir, string metaUrl, string storageUrl, string[] extraArgs)
    {
        var mountPoint = Path.Combine(dir, "mnt");
        Directory.CreateDirectory(mountPoint);
        var mounted = FuseMount.IsSupported(out _);
        var (nfsPort, webDavPort) = (FreePort(), FreePort());
        var process = ChildProcess.Start("appliance.dll", dir,
        [
            "serve", "--data", Path.Combine(dir, "data"), "--meta", metaUrl, "--storage", storageUrl,
            "--nfs", $"127.0.0.1:{nfsPort}", "--portmap", "off", "--webdav", $"127.0.0.1:{webDavPort}", "--admin", "off",
            "--mount", mounted ? mountPoint : "off", .. extraArgs,
        ]);
        var appliance = new ServingAppliance(process, mountPoint, mounted, nfsPort, webDavPort);
        try
        {
            await process.WaitForLineAsync(l => l.Contains("ready: volume ", StringComparison.Ordinal), ReadyTimeout);
        }
        catch
        {
            await appliance.DisposeAsync();
            throw;
        }
        return appliance;
    }

    /// <summary>A path on this appliance's mount.</summary>
    public string OnMount(string name) => Path.Combine(MountPoint, name);

    /// <summary>SIGKILL, as a crash: no session is closed, no lock released, the mount left dead.</summary>
    public async Task KillAsync()
    {
        Process.Kill();
        await Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        WebDav.Dispose();
        // A clean stop closes the session and unmounts; one the test killed is only reaped.
        if (!Process.HasExited)
        {
            Process.Terminate();
            await Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        await Process.DisposeAsync();
        if (Mounted)
        {
            // A killed appliance leaves its mount dead; detach it so the directory can be removed.
            using var umount = System.Diagnostics.Process.Start(new ProcessStartInfo("umount", ["-l", MountPoint]) { RedirectStandardError = true });
            await umount!.WaitForExitAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
