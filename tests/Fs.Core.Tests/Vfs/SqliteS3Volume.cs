using Fs.Core.Tests.Objects;
using Fs.Core.Vfs;
using Xunit.Abstractions;

namespace Fs.Core.Tests.Vfs;

/// <summary>SQLite metadata in a temporary directory and file data in a bucket of a real s3rver.</summary>
internal static class SqliteS3Volume
{
    public static async Task<FileSystem> OpenAsync(S3rverServer server, string dir, int blockSize, int compactThreshold)
    {
        var metaUrl = $"sqlite:///{dir.TrimStart('/')}/meta.db";
        if (!File.Exists(Path.Combine(dir, "meta.db")))
        {
            // The bucket is named after the volume's directory, which is unique per test.
            await FileSystem.FormatAsync(new FormatOptions
            {
                Name = "conformance-s3",
                MetaUrl = metaUrl,
                StorageUrl = server.StorageUrl(Path.GetFileName(dir).ToLowerInvariant()),
                BlockSize = blockSize,
            });
        }
        // No storage URL: the volume finds its bucket from what format recorded, as `serve` does.
        return await FileSystem.OpenAsync(new FileSystemOptions
        {
            MetaUrl = metaUrl,
            CompactThreshold = compactThreshold,
            MemoryCacheBytes = 64L << 20,
            WriteBufferBytes = 64L << 20,
        });
    }
}

/// <summary>The file-system conformance suite against SQLite metadata and S3 data.</summary>
public sealed class SqliteS3VfsConformance(S3rverServer server) : VfsConformance, IClassFixture<S3rverServer>
{
    protected override Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        SqliteS3Volume.OpenAsync(server, tempDir, blockSize, compactThreshold);
}

/// <summary>The model-based random test against SQLite metadata and S3 data.</summary>
public sealed class SqliteS3VfsModelTest(S3rverServer server, ITestOutputHelper output) : VfsModelTest(output), IClassFixture<S3rverServer>
{
    protected override Task<FileSystem> OpenFileSystemAsync(string tempDir, int blockSize, int compactThreshold) =>
        SqliteS3Volume.OpenAsync(server, tempDir, blockSize, compactThreshold);
}
