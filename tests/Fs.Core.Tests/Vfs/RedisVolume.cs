using Fs.Core.Tests.Meta.Redis;
using Fs.Core.Vfs;
using Xunit.Abstractions;

namespace Fs.Core.Tests.Vfs;

/// <summary>
/// A volume with its metadata in the shared test redis-server (keys under a prefix of its own, named after the temporary
/// directory so a reopen finds the same volume) and its blocks in a local object directory.
/// </summary>
internal static class RedisVolume
{
    public static async Task<FileSystem> OpenAsync(string dir, int blockSize, int compactThreshold) =>
        await OpenAsync(dir, blockSize, compactThreshold, (await RedisServer.Shared).Url(Path.GetFileName(dir)));

    /// <summary>The same volume with its metadata at <paramref name="metaUrl"/> (a cluster or a sentinel's master).</summary>
    public static async Task<FileSystem> OpenAsync(string dir, int blockSize, int compactThreshold, string metaUrl)
    {
        var storageUrl = $"file:///{dir.TrimStart('/')}/objects";
        var formatted = Path.Combine(dir, "formatted");
        if (!File.Exists(formatted))
        {
            await FileSystem.FormatAsync(new FormatOptions
            {
                Name = "conformance",
                MetaUrl = metaUrl,
                StorageUrl = storageUrl,
                BlockSize = blockSize,
            });
            await File.WriteAllTextAsync(formatted, metaUrl);
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

/// <summary>The file-system conformance suite against Redis metadata and a local object directory.</summary>
public sealed class RedisVfsConformance : VfsConformance
{
    protected override Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        RedisVolume.OpenAsync(tempDir, blockSize, compactThreshold);
}

/// <summary>The lock conformance suite against Redis metadata.</summary>
public sealed class RedisLockConformance : LockConformance
{
    protected override Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        RedisVolume.OpenAsync(tempDir, blockSize, compactThreshold);
}

/// <summary>The model-based random test against Redis metadata and a local object directory.</summary>
public sealed class RedisVfsModelTest(ITestOutputHelper output) : VfsModelTest(output)
{
    protected override Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        RedisVolume.OpenAsync(tempDir, blockSize, compactThreshold);
}

/// <summary>The file-system conformance suite with its metadata spread over a three-master Redis Cluster.</summary>
public sealed class RedisClusterVfsConformance : VfsConformance
{
    protected override async Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        await RedisVolume.OpenAsync(tempDir, blockSize, compactThreshold, await RedisTopology.ClusterUrlAsync(Path.GetFileName(tempDir)));
}

/// <summary>The lock conformance suite on a Redis Cluster.</summary>
public sealed class RedisClusterLockConformance : LockConformance
{
    protected override async Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        await RedisVolume.OpenAsync(tempDir, blockSize, compactThreshold, await RedisTopology.ClusterUrlAsync(Path.GetFileName(tempDir)));
}

/// <summary>The file-system conformance suite on a Redis master found through Sentinel.</summary>
public sealed class RedisSentinelVfsConformance : VfsConformance
{
    protected override async Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        await RedisVolume.OpenAsync(tempDir, blockSize, compactThreshold, await RedisTopology.SentinelUrlAsync(Path.GetFileName(tempDir)));
}
