using Fs.Core.Vfs;

namespace Fs.Core.Tests.Vfs;

/// <summary>
/// A fresh volume in its own temporary directory for every test (xunit makes one instance per test). Engine-specific
/// subclasses say how a volume is formatted and opened; the suites built on this base assert only what any engine must do.
/// </summary>
public abstract class VolumeTest : IAsyncLifetime
{
    private FileSystem? _fs;

    /// <summary>
    /// Formats a volume in <paramref name="tempDir"/> when none is there yet, then opens it. Called again on the same
    /// directory after <see cref="ReopenAsync"/> disposed the previous instance, and must then find the same volume.
    /// </summary>
    protected abstract Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold);

    /// <summary>Small blocks so that tests of modest size cross block edges.</summary>
    protected virtual int BlockSize => 64 * 1024;

    /// <summary>Low enough that repeated small writes to one chunk get compacted during a test.</summary>
    protected virtual int CompactThreshold => 8;

    protected string TempDir { get; } = Path.Combine(Path.GetTempPath(), "appliance-vfs-" + Guid.NewGuid().ToString("N"));

    protected FileSystem Fs => _fs ?? throw new InvalidOperationException("The volume is not open.");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(TempDir);
        _fs = await OpenFileSystemAsync(TempDir, BlockSize, CompactThreshold);
    }

    public async Task DisposeAsync()
    {
        if (_fs is not null)
            await _fs.DisposeAsync();
        _fs = null;
        if (Directory.Exists(TempDir))
            Directory.Delete(TempDir, recursive: true);
    }

    /// <summary>Closes the volume (flushing everything) and opens it again, as a restart of the appliance would.</summary>
    protected async Task ReopenAsync()
    {
        if (_fs is not null)
            await _fs.DisposeAsync();
        _fs = null;
        _fs = await OpenFileSystemAsync(TempDir, BlockSize, CompactThreshold);
    }
}
