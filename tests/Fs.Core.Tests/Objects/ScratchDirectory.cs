namespace Fs.Core.Tests.Objects;

/// <summary>A fresh directory under the system temp directory, removed on dispose.</summary>
public sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fs-core-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}

/// <summary>A small tmpfs mounted for a test that needs a file system that can fill up; needs root.</summary>
public sealed class SmallFileSystem : IDisposable
{
    public SmallFileSystem(long bytes)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fs-core-tmpfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
        Run("mount", $"-t tmpfs -o size={bytes} tmpfs {Path}");
    }

    public string Path { get; }

    public void Dispose()
    {
        Run("umount", Path);
        Directory.Delete(Path);
    }

    private static void Run(string program, string arguments)
    {
        using var process = System.Diagnostics.Process.Start(program, arguments);
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {arguments} exited with {process.ExitCode}");
    }
}

/// <summary>A fact that needs root (to mount a small tmpfs); skipped for other users.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
            Skip = "needs root on Linux to mount a tmpfs";
    }
}

/// <summary>A fact about Linux interfaces (/proc, cgroups); skipped elsewhere.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
            Skip = "reads Linux interfaces";
    }
}
