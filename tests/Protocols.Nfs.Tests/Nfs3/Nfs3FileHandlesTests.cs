using System.Security.Cryptography;
using Protocols.Nfs.Nfs3;

namespace Protocols.Nfs.Tests.Nfs3;

public sealed class Nfs3FileHandlesTests
{
    private static readonly Guid Volume = Guid.NewGuid();
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void A_handle_is_fixed_size_and_decodes_to_its_inode_on_any_instance_of_the_volume()
    {
        var handle = new byte[Nfs3FileHandles.Size];
        new Nfs3FileHandles(Volume, Key).Encode(new Nfs3Handle(123456789, 77), handle);
        Assert.True(new Nfs3FileHandles(Volume, (byte[])Key.Clone()).TryDecode(handle, out Nfs3Handle decoded));
        Assert.Equal(new Nfs3Handle(123456789, 77), decoded);
        Assert.Equal(0, Nfs3FileHandles.Size % 4);
        Assert.True(Nfs3FileHandles.Size <= 64);
    }

    [Fact]
    public void A_handle_with_a_changed_inode_is_not_accepted()
    {
        var handles = new Nfs3FileHandles(Volume, Key);
        var handle = new byte[Nfs3FileHandles.Size];
        handles.Encode(new Nfs3Handle(5, 1), handle);
        for (var i = 0; i < handle.Length; i++)
        {
            var forged = (byte[])handle.Clone();
            forged[i] ^= 0x01;
            Assert.False(handles.TryDecode(forged, out Nfs3Handle _), $"a handle with byte {i} changed was accepted");
        }
    }

    [Fact]
    public void Handles_of_another_volume_or_key_and_garbage_are_refused()
    {
        var handle = new byte[Nfs3FileHandles.Size];
        new Nfs3FileHandles(Volume, Key).Encode(new Nfs3Handle(5, 1), handle);
        Assert.False(new Nfs3FileHandles(Guid.NewGuid(), Key).TryDecode(handle, out Nfs3Handle _));
        Assert.False(new Nfs3FileHandles(Volume, RandomNumberGenerator.GetBytes(32)).TryDecode(handle, out Nfs3Handle _));
        Assert.False(new Nfs3FileHandles(Volume, Key).TryDecode(handle.AsSpan(0, 32), out Nfs3Handle _));
        Assert.False(new Nfs3FileHandles(Volume, Key).TryDecode(new byte[Nfs3FileHandles.Size], out Nfs3Handle _));
    }

    [Fact]
    public void A_handle_moved_into_another_export_is_not_accepted()
    {
        var handles = new Nfs3FileHandles(Volume, Key);
        var handle = new byte[Nfs3FileHandles.Size];
        handles.Encode(new Nfs3Handle(5, 9), handle);
        // The export root sits in bytes 28..36: a client rewriting it to reach another export's rules fails the MAC.
        handle[35] = 1;
        Assert.False(handles.TryDecode(handle, out Nfs3Handle _));
    }

    [Fact]
    public void A_version_1_handle_is_still_accepted_as_a_handle_of_the_volume_root_export()
    {
        // Version 1: byte 0 = 1, three zero bytes, the volume id, the inode, then 12 bytes of HMAC-SHA256 over the rest.
        var handle = new byte[40];
        handle[0] = 1;
        Volume.ToByteArray(bigEndian: true).CopyTo(handle, 4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(handle.AsSpan(20), 4242);
        HMACSHA256.HashData(Key, handle.AsSpan(0, 28)).AsSpan(0, 12).CopyTo(handle.AsSpan(28));
        Assert.True(new Nfs3FileHandles(Volume, Key).TryDecode(handle, out Nfs3Handle decoded));
        Assert.Equal(new Nfs3Handle(4242, 1), decoded);
        handle[39] ^= 1;
        Assert.False(new Nfs3FileHandles(Volume, Key).TryDecode(handle, out Nfs3Handle _));
    }
}
