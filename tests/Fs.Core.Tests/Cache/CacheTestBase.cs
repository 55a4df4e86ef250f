using System.Security.Cryptography;
using Fs.Core.Objects;
using Fs.Core.Tests.Objects;

namespace Fs.Core.Tests.Cache;

/// <summary>
/// What the block cache's tests stand on: a real local store in a scratch directory, wrapped to count and fault its
/// requests, and a codec with a fresh key.
/// </summary>
public abstract class CacheTestBase : IAsyncLifetime
{
    private readonly ScratchDirectory _scratch = new();

    protected CacheTestBase(BlockCompression compression = BlockCompression.None)
    {
        Store = new InstrumentedObjectStore(new LocalDirectoryStore(System.IO.Path.Combine(_scratch.Path, "objects")));
        Codec = new BlockCodec(compression, RandomNumberGenerator.GetBytes(32));
    }

    protected InstrumentedObjectStore Store { get; }

    protected BlockCodec Codec { get; }

    /// <summary>The scratch directory, for a disk tier beside the store.</summary>
    protected string ScratchPath => _scratch.Path;

    public Task InitializeAsync() => Store.CreateAsync(default);

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        _scratch.Dispose();
    }
}
