using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Tests.Xdr;

public sealed class XdrTests
{
    [Fact]
    public void Values_round_trip_big_endian_with_opaque_padded_to_four_bytes()
    {
        using var w = new XdrWriter(16);
        w.WriteUInt32(0x01020304);
        w.WriteInt64(-2);
        w.WriteBool(true);
        w.WriteOpaque([9, 8, 7]);
        w.WriteString("héllo");
        w.WriteFixedOpaque([1, 2, 3, 4, 5]);

        var bytes = w.WrittenSpan.ToArray();
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, bytes[..4]);
        Assert.Equal(0, bytes.Length % 4);
        Assert.Equal(new byte[] { 0, 0, 0, 3, 9, 8, 7, 0 }, bytes[16..24]);

        var r = new XdrReader(bytes);
        Assert.Equal(0x01020304u, r.ReadUInt32());
        Assert.Equal(-2L, r.ReadInt64());
        Assert.True(r.ReadBool());
        Assert.Equal(new byte[] { 9, 8, 7 }, r.ReadOpaque(3).ToArray());
        Assert.Equal("héllo", r.ReadString(255));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, r.ReadFixedOpaque(5).ToArray());
        Assert.Equal(0, r.Remaining);
    }

    [Fact]
    public void A_length_above_the_declared_maximum_is_refused_before_reading()
    {
        using var w = new XdrWriter();
        w.WriteOpaque(new byte[65]);
        var r = new XdrReader(w.WrittenMemory);
        Assert.Throws<XdrException>(() => r.ReadOpaque(64));
    }

    [Fact]
    public void A_hostile_length_larger_than_the_record_is_refused()
    {
        var r = new XdrReader(new byte[] { 0x7F, 0xFF, 0xFF, 0xFF, 1, 2 });
        Assert.Throws<XdrException>(() => r.ReadOpaque(int.MaxValue));
    }

    [Fact]
    public void Truncated_data_is_refused()
    {
        var r = new XdrReader(new byte[] { 0, 0, 1 });
        Assert.Throws<XdrException>(() => r.ReadUInt32());
        var r2 = new XdrReader(new byte[] { 0, 0, 0, 1, 0, 0, 0 });
        Assert.Throws<XdrException>(() => r2.ReadUInt64());
    }

    [Fact]
    public void A_bool_other_than_zero_or_one_is_garbage()
    {
        var r = new XdrReader(new byte[] { 0, 0, 0, 2 });
        Assert.Throws<XdrException>(() => r.ReadBool());
    }

    [Fact]
    public void The_writer_grows_past_its_first_buffer_and_patches_earlier_units()
    {
        using var w = new XdrWriter(8);
        w.WriteUInt32(0);
        var big = new byte[100_000];
        big[^1] = 42;
        w.WriteOpaque(big);
        w.PatchUInt32(0, 7);
        var r = new XdrReader(w.WrittenMemory);
        Assert.Equal(7u, r.ReadUInt32());
        Assert.Equal(42, r.ReadOpaque(100_000).Span[^1]);
    }
}
