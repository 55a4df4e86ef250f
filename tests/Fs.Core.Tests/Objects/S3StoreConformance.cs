using System.Diagnostics;
using Fs.Core.Objects;

namespace Fs.Core.Tests.Objects;

/// <summary>The object-store conformance suite and the S3-specific behaviour, against a real s3rver.</summary>
public sealed class S3StoreConformance(S3rverServer server) : ObjectStoreConformance, IClassFixture<S3rverServer>
{
    // Each test gets a bucket of its own, opened the way a volume opens it: from its storage URL.
    protected override IObjectStore NewStore() => ObjectStores.Open(server.StorageUrl(S3rverServer.NewBucket("conformance")));

    [Fact]
    public void TheUrlOpensAnS3StoreDescribedByItsCanonicalUrl()
    {
        var s3 = Assert.IsType<S3Store>(Store);
        Assert.StartsWith("s3://conformance-", s3.Description);
        Assert.Contains($"endpoint=http%3A%2F%2F127.0.0.1%3A{server.Port}", s3.Description);
        Assert.Equal(s3.Location, S3Location.Parse(s3.Description));
    }

    [Fact]
    public async Task CreatingAnExistingBucketAgainSucceedsAndKeepsItsObjects()
    {
        await Store.PutAsync("kept", Bytes("data"), default);
        await Store.CreateAsync(default);
        await using var again = ObjectStores.Open(Store.Description);
        await again.CreateAsync(default);
        Assert.Equal(Bytes("data"), await again.GetAsync("kept", default));
    }

    [Fact]
    public async Task StoresWithDifferentPrefixesInOneBucketDoNotSeeEachOther()
    {
        var bucket = S3rverServer.NewBucket("prefixes");
        await using var first = ObjectStores.Open(server.StorageUrl(bucket, "volumes/one"));
        await using var second = ObjectStores.Open(server.StorageUrl(bucket, "volumes/two"));
        await first.CreateAsync(default);
        await second.CreateAsync(default);
        await first.PutAsync("chunks/a", Bytes("first"), default);
        await second.PutAsync("chunks/a", Bytes("second"), default);
        await second.PutAsync("chunks/b", Bytes("only second"), default);

        Assert.Equal(Bytes("first"), await first.GetAsync("chunks/a", default));
        Assert.Null(await first.HeadAsync("chunks/b", default));
        Assert.Equal(["chunks/a"], await KeysAsync(first, ""));
        Assert.Equal(["chunks/a", "chunks/b"], await KeysAsync(second, "chunks/"));
        await first.DeleteAsync("chunks/a", default);
        Assert.Equal(Bytes("second"), await second.GetAsync("chunks/a", default));

        await using var whole = ObjectStores.Open(server.StorageUrl(bucket));
        Assert.Equal(["volumes/two/chunks/a", "volumes/two/chunks/b"], await KeysAsync(whole, ""));
    }

    [Fact]
    public async Task ListingPastOnePageReturnsEveryKeyOnceInOrder()
    {
        // S3 returns at most 1000 keys per page; the store must follow the continuation tokens.
        var keys = Enumerable.Range(0, 1234).Select(i => $"chunks/{i % 7}/{i:D5}").ToArray();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (key, ct) => await Store.PutAsync(key, Bytes(key), ct));
        Assert.Equal(keys.Order(StringComparer.Ordinal), await KeysAsync(Store, ""));
        Assert.Equal(keys.Where(k => k.StartsWith("chunks/3/", StringComparison.Ordinal)).Order(StringComparer.Ordinal), await KeysAsync(Store, "chunks/3/"));
    }

    [Fact]
    public async Task APutDuringAnOutageWaitsAndLandsWhenTheServerIsBack()
    {
        var outage = new S3rverServer();
        await outage.InitializeAsync();
        try
        {
            await using var store = ObjectStores.Open(outage.StorageUrl(S3rverServer.NewBucket("outage")));
            await store.CreateAsync(default);
            var data = new byte[300_000];
            new Random(5).NextBytes(data);

            await outage.StopAsync();
            var clock = Stopwatch.StartNew();
            var put = store.PutAsync("chunks/0/0/1_0_300000", data, default);
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(put.IsCompleted, $"the put ended while the server was down: {put.Exception?.GetBaseException().Message}");
            await outage.StartAsync();
            await put;
            Assert.InRange(clock.Elapsed.TotalSeconds, 3, 30);
            Assert.Equal(data, await store.GetAsync("chunks/0/0/1_0_300000", default));
        }
        finally
        {
            await outage.DisposeAsync();
        }
    }

    [Fact]
    public async Task AServerThatStaysDownFailsTheRequestNamingTheObject()
    {
        var outage = new S3rverServer();
        await outage.InitializeAsync();
        try
        {
            var location = S3Location.Parse(outage.StorageUrl(S3rverServer.NewBucket("down"), "vol"));
            await using var store = new S3Store(location, new S3StoreOptions { RetryWindow = TimeSpan.FromSeconds(2) });
            await store.CreateAsync(default);
            await outage.StopAsync();

            var clock = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<IOException>(() => store.GetAsync("chunks/0/0/7_0_4096", default));
            Assert.Contains($"s3://{location.Bucket}/vol/chunks/0/0/7_0_4096", error.Message);
            Assert.Contains("attempts", error.Message);
            Assert.InRange(clock.Elapsed.TotalSeconds, 0.5, 15);
        }
        finally
        {
            await outage.DisposeAsync();
        }
    }

    [Fact]
    public async Task AMissingBucketIsAnErrorNotAMissingObject()
    {
        await using var store = ObjectStores.Open(server.StorageUrl(S3rverServer.NewBucket("never-created")));
        var error = await Assert.ThrowsAsync<IOException>(() => store.GetAsync("chunks/x", default));
        Assert.Contains("chunks/x", error.Message);
        Assert.Contains("NoSuchBucket", error.Message);
    }

    /// <summary>
    /// AWS replaces an object atomically; s3rver writes an overwrite's body and its ETag as two files, so concurrent
    /// puts of one key can leave a body with another put's ETag. What the store must still promise on such a server
    /// is that it never hands out mixed bytes: a read is whole, or an error (EIO to the client), never corrupt data.
    /// </summary>
    [Fact]
    public override async Task ConcurrentPutsOfOneKeyNeverYieldAMixedObject()
    {
        const int size = 1 << 20;
        var location = ((S3Store)Store).Location;
        await using var store = new S3Store(location, new S3StoreOptions { RetryWindow = TimeSpan.FromSeconds(1) });
        var writers = Enumerable.Range(1, 8).Select(fill => Task.Run(async () =>
        {
            var data = new byte[size];
            Array.Fill(data, (byte)fill);
            for (var round = 0; round < 4; round++)
                await store.PutAsync("contended", data, default);
        })).ToArray();
        while (!writers.All(w => w.IsCompleted))
            await ReadWholeOrFailAsync(store);
        await Task.WhenAll(writers);
        await ReadWholeOrFailAsync(store);

        // Once the contention is over, an overwrite is whole again.
        var last = new byte[size];
        Array.Fill(last, (byte)42);
        await store.PutAsync("contended", last, default);
        Assert.Equal(last, await store.GetAsync("contended", default));

        static async Task ReadWholeOrFailAsync(IObjectStore store)
        {
            byte[] seen;
            try
            {
                seen = await store.GetAsync("contended", default);
            }
            catch (Exception e) when (e is ObjectNotFoundException or IOException)
            {
                return;
            }
            Assert.Equal(size, seen.Length);
            Assert.True(seen.AsSpan().IndexOfAnyExcept(seen[0]) < 0, "object mixes bytes of two puts");
        }
    }

    private static async Task<List<string>> KeysAsync(IObjectStore store, string prefix)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync(prefix, default))
            keys.Add(info.Key);
        return keys;
    }
}
