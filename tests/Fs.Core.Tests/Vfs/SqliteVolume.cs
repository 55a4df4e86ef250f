using Fs.Core.Vfs;
using Xunit.Abstractions;

namespace Fs.Core.Tests.Vfs;

/// <summary>The embedded default volume: SQLite metadata and a local object directory inside one temporary directory.</summary>
internal static class SqliteVolume
{
    public static async Task<FileSystem> OpenAsync(string dir, int blockSize, int compactThreshold)
    {
        var metaUrl = $"sqlite:///{dir.TrimStart('/')}/meta.db";
        var storageUrl = $"file:///{dir.TrimStart('/')}/objects";
        if (!File.Exists(Path.Combine(dir, "meta.db")))
        {
            await FileSystem.FormatAsync(new FormatOptions
            {
                Name = "conformance",
                MetaUrl = metaUrl,
                StorageUrl = storageUrl,
                BlockSize = blockSize,
            });
        }
        return await FileSystem.OpenAsync(new FileSystemOptions
        {
            MetaUrl = metaUrl,
            StorageUrl = storageUrl,
            CompactThreshold = compactThreshold,
            // Keep the test process small: the suites run side by side on a shared machine.
            MemoryCacheBytes = 64L << 20,
            WriteBufferBytes = 64L << 20,
        });
    }
}

/// <summary>The file-system conformance suite against SQLite metadata and a local object directory.</summary>
public sealed class SqliteVfsConformance : VfsConformance
{
    protected override Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        SqliteVolume.OpenAsync(tempDir, blockSize, compactThreshold);
}

/// <summary>The lock conformance suite against SQLite metadata.</summary>
public sealed class SqliteLockConformance : LockConformance
{
    protected override Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        SqliteVolume.OpenAsync(tempDir, blockSize, compactThreshold);
}

/// <summary>The model-based random test against SQLite metadata and a local object directory.</summary>
public sealed class SqliteVfsModelTest(ITestOutputHelper output) : VfsModelTest(output)
{
    protected override Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        SqliteVolume.OpenAsync(tempDir, blockSize, compactThreshold);
}
