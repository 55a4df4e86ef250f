using System.Text;
using Fs.Core.Objects;

namespace Fs.Core.Tests.Objects;

/// <summary>What every <see cref="IObjectStore"/> must do; each store's test class derives from this.</summary>
public abstract class ObjectStoreConformance : IAsyncLifetime
{
    private IObjectStore? _store;

    protected IObjectStore Store => _store ?? throw new InvalidOperationException("store not created");

    /// <summary>A new, empty store, not yet created.</summary>
    protected abstract IObjectStore NewStore();

    public async Task InitializeAsync()
    {
        _store = NewStore();
        await _store.CreateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
            await _store.DisposeAsync();
    }

    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Theory]
    [InlineData("flat")]
    [InlineData("chunks/0/1/1234_0_4194304")]
    [InlineData("deep/a/b/c/d/e/f")]
    public async Task PutThenGetReturnsTheSameBytes(string key)
    {
        var data = new byte[100_000];
        new Random(key.Length).NextBytes(data);
        await Store.PutAsync(key, data, default);
        Assert.Equal(data, await Store.GetAsync(key, default));
    }

    [Fact]
    public async Task EmptyObjectRoundTrips()
    {
        await Store.PutAsync("empty", ReadOnlyMemory<byte>.Empty, default);
        Assert.Empty(await Store.GetAsync("empty", default));
        Assert.Equal(0, await Store.HeadAsync("empty", default));
    }

    [Fact]
    public async Task GetOfMissingObjectThrowsNotFound()
    {
        var error = await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.GetAsync("no/such/object", default));
        Assert.Equal("no/such/object", error.Key);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100_000)]
    [InlineData(300_001)]
    public async Task A_whole_object_reads_into_memory_the_caller_gives(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        await Store.PutAsync("chunks/0/0/5_0_1", data, default);
        var destination = new byte[length + 5000];

        var read = await Store.GetAsync("chunks/0/0/5_0_1", destination, default);

        Assert.Equal(length, read);
        Assert.True(destination.AsSpan(0, length).SequenceEqual(data));
    }

    [Fact]
    public async Task An_object_put_from_a_huge_page_buffer_and_read_back_into_one_is_whole()
    {
        // Block buffers that direct reads fill are mappings, not arrays, and go back out when a writer reuses them.
        const int length = (4 << 20) + 4000;
        var pool = new BlockBufferPool(4 << 20, maxIdle: 0);
        var source = pool.Rent(hugePages: true);
        var data = source.ObjectSpace[..length];
        new Random(length).NextBytes(data.Span);
        await Store.PutAsync("chunks/0/0/6_0_1", data, default);
        var target = pool.Rent(hugePages: true);

        var read = await Store.GetAsync("chunks/0/0/6_0_1", target.ObjectSpace, default);

        Assert.Equal(length, read);
        Assert.True(target.ObjectSpace.Span[..length].SequenceEqual(data.Span));
        Assert.Equal(data.ToArray(), await Store.GetAsync("chunks/0/0/6_0_1", default));
        source.Release();
        target.Release();
    }

    [Fact]
    public async Task An_object_larger_than_the_memory_given_fails_as_corrupt()
    {
        await Store.PutAsync("too/big", new byte[10_000], default);
        var error = await Assert.ThrowsAsync<CorruptObjectException>(() => Store.GetAsync("too/big", new byte[9_999], default));
        Assert.Equal("too/big", error.Key);
    }

    [Fact]
    public async Task A_missing_object_read_into_memory_throws_not_found()
    {
        var error = await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.GetAsync("no/such/object", new byte[100], default));
        Assert.Equal("no/such/object", error.Key);
    }

    [Fact]
    public async Task HeadReportsSizeOrNull()
    {
        await Store.PutAsync("dir/obj", new byte[1234], default);
        Assert.Equal(1234, await Store.HeadAsync("dir/obj", default));
        Assert.Null(await Store.HeadAsync("dir/other", default));
        Assert.Null(await Store.HeadAsync("dir", default));
    }

    [Fact]
    public async Task DeleteRemovesTheObjectAndToleratesMissing()
    {
        await Store.PutAsync("a/b", Bytes("x"), default);
        await Store.DeleteAsync("a/b", default);
        Assert.Null(await Store.HeadAsync("a/b", default));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.GetAsync("a/b", default));
        await Store.DeleteAsync("a/b", default);
        await Store.DeleteAsync("never/was/here", default);
    }

    [Fact]
    public async Task OverwriteReplacesTheWholeObject()
    {
        await Store.PutAsync("k", new byte[10_000], default);
        await Store.PutAsync("k", Bytes("short"), default);
        Assert.Equal(Bytes("short"), await Store.GetAsync("k", default));
        Assert.Equal(5, await Store.HeadAsync("k", default));
    }

    [Fact]
    public async Task ListReturnsMatchingKeysInOrdinalOrderWithSizes()
    {
        string[] keys = ["a/b/1", "a/b/2", "a/b/10", "a/c", "a.b", "a0", "a-", "b/x", "chunks/0/1/1234_0_4", "chunks/0/1/1299_1_4", "chunks/0/2/2000_0_4"];
        foreach (var key in keys)
            await Store.PutAsync(key, Bytes(key), default);

        foreach (var prefix in new[] { "", "a", "a/", "a/b/", "a/b/1", "chunks/0/1/12", "chunks/", "nothing" })
        {
            var listed = new List<ObjectInfo>();
            await foreach (var info in Store.ListAsync(prefix, default))
                listed.Add(info);
            var expected = keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(expected, listed.Select(i => i.Key).ToList());
            Assert.All(listed, i => Assert.Equal(Encoding.UTF8.GetByteCount(i.Key), i.Size));
        }
    }

    [Fact]
    public async Task ListOfAnEmptyStoreIsEmpty()
    {
        await foreach (var info in Store.ListAsync("", default))
            Assert.Fail($"unexpected object {info.Key}");
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("a/..")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\b")]
    [InlineData("a\0b")]
    [InlineData("")]
    [InlineData("a//b")]
    [InlineData("./a")]
    [InlineData("a/")]
    public async Task HostileKeysAreRejected(string key)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.PutAsync(key, Bytes("x"), default));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetAsync(key, default));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.HeadAsync(key, default));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.DeleteAsync(key, default));
    }

    [Theory]
    [InlineData("../")]
    [InlineData("/abs")]
    [InlineData("a\\")]
    public async Task HostileListPrefixesAreRejected(string prefix)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(async () =>
        {
            await foreach (var _ in Store.ListAsync(prefix, default))
            {
            }
        });
    }

    [Fact]
    public virtual async Task ConcurrentPutsOfOneKeyNeverYieldAMixedObject()
    {
        const int size = 1 << 20;
        var writers = Enumerable.Range(1, 8).Select(fill => Task.Run(async () =>
        {
            var data = new byte[size];
            Array.Fill(data, (byte)fill);
            for (var round = 0; round < 4; round++)
                await Store.PutAsync("contended", data, default);
        })).ToArray();
        var reader = Task.Run(async () =>
        {
            while (!writers.All(w => w.IsCompleted))
            {
                byte[] seen;
                try
                {
                    seen = await Store.GetAsync("contended", default);
                }
                catch (ObjectNotFoundException)
                {
                    continue;
                }
                AssertWhole(seen);
            }
        });
        await Task.WhenAll(writers);
        await reader;
        AssertWhole(await Store.GetAsync("contended", default));

        static void AssertWhole(byte[] seen)
        {
            Assert.Equal(size, seen.Length);
            Assert.True(seen.AsSpan().IndexOfAnyExcept(seen[0]) < 0, "object mixes bytes of two puts");
        }
    }
}
