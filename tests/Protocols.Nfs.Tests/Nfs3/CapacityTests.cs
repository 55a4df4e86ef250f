using System.Security.Cryptography;
using Protocols.Nfs.Nfs3;

namespace Protocols.Nfs.Tests.Nfs3;

/// <summary>A volume formatted with a capacity quota, filled through NFSv3.</summary>
public sealed class CapacityTests : NfsServerTest
{
    private const long Capacity = 4L << 20;
    private const int MiB = 1 << 20;
    private const uint FileSync = 2;

    protected override long CapacityBytes => Capacity;

    [Fact]
    public async Task A_write_past_the_quota_is_nospc_and_the_data_already_written_reads_back_intact()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "fill.bin");
        var first = RandomNumberGenerator.GetBytes(MiB);
        var ok = await WriteAsync(client, fh, 0, first, FileSync);
        Assert.Equal(Nfs3Status.Ok, ok.Status);
        Assert.Equal((uint)MiB, ok.Count);
        Assert.Equal(FileSync, ok.Committed);

        // Ends at 5 MiB of a 4 MiB volume: the whole write must be refused, not cut short.
        var past = await WriteAsync(client, fh, Capacity, RandomNumberGenerator.GetBytes(MiB), FileSync);
        Assert.Equal(Nfs3Status.NoSpc, past.Status);
        Assert.Equal(28, (int)past.Status);

        Assert.Equal((ulong)MiB, (await GetAttrAsync(client, fh)).Attr.Size);
        var read = await ReadAsync(client, fh, 0, MiB);
        Assert.Equal(Nfs3Status.Ok, read.Status);
        Assert.Equal(first, read.Data);
        Assert.True(read.Eof);

        var (status, r) = await NfsAsync(client, 18, w => w.WriteOpaque(root));
        Assert.Equal(Nfs3Status.Ok, status);
        SkipPostOp(ref r);
        Assert.Equal((ulong)Capacity, r.ReadUInt64());
    }
}
