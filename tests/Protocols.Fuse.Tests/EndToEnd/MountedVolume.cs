using System.Diagnostics;
using Fs.Core.Vfs;

namespace Protocols.Fuse.Tests.EndToEnd;

/// <summary>A freshly formatted volume (SQLite + local object directory in a temp dir) mounted through FUSE with allow_other.</summary>
public class MountedVolume : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("fuse-e2e-");

    public MountedVolume()
        : this(64L << 30)
    {
    }

    /// <summary>For fixture variants whose volume is formatted with another capacity quota.</summary>
    protected MountedVolume(long capacityBytes) => CapacityBytes = capacityBytes;

    public long CapacityBytes { get; }

    public FileSystem Fs { get; private set; } = null!;

    public FuseMount Mount { get; private set; } = null!;

    public string Path => Mount.MountPoint;

    public string Scratch => System.IO.Path.Combine(_root.FullName, "scratch");

    public string MetaUrl => $"sqlite://{_root.FullName}/meta.db";

    public async Task InitializeAsync()
    {
        if (!FuseMount.IsSupported(out _))
            return;
        // Tests block pool threads on syscalls into the mount whose answers are computed on pool threads.
        ThreadPool.SetMinThreads(64, 64);
        // The unprivileged-user scenarios must be able to reach the mount point through the temp directory.
        await CheckedAsync($"chmod 755 {_root.FullName}");
        Directory.CreateDirectory(Scratch);
        await FileSystem.FormatAsync(new FormatOptions
        {
            Name = "fuse-e2e",
            MetaUrl = MetaUrl,
            StorageUrl = $"file://{_root.FullName}/objects",
            CapacityBytes = CapacityBytes,
        });
        await OpenAsync();
    }

    /// <summary>Opens the volume and mounts it (again, after <see cref="CloseAsync"/>), so that every cache starts cold.</summary>
    public async Task OpenAsync()
    {
        Fs = await FileSystem.OpenAsync(new FileSystemOptions { MetaUrl = MetaUrl });
        Mount = new FuseMount(Fs, new FuseMountOptions { MountPoint = System.IO.Path.Combine(_root.FullName, "mnt"), AllowOther = true });
        await Mount.StartAsync();
    }

    public async Task CloseAsync()
    {
        await Mount.DisposeAsync();
        await Fs.DisposeAsync();
    }

    public async Task DisposeAsync()
    {
        if (Mount is not null)
            await CloseAsync();
        _root.Delete(recursive: true);
    }

    /// <summary>A new empty directory on the mount for one test.</summary>
    public string NewDirectory(string name)
    {
        var dir = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs a bash command (as another user when <paramref name="asUid"/> is given) and returns its exit code and output.</summary>
    public static async Task<(int Exit, string Out, string Err)> ShellAsync(string command, int? asUid = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? "/",
        };
        if (asUid is { } uid)
        {
            start.FileName = "setpriv";
            foreach (var a in new[] { $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "bash" })
                start.ArgumentList.Add(a);
        }
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }

    public static async Task<string> CheckedAsync(string command, int? asUid = null)
    {
        var (exit, output, error) = await ShellAsync(command, asUid);
        Assert.True(exit == 0, $"`{command}` failed with {exit}: {error}");
        return output;
    }
}
