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
        new Nfs3FileHandles(Volume, Key).Encode(123456789, handle);
        Assert.True(new Nfs3FileHandles(Volume, (byte[])Key.Clone()).TryDecode(handle, out var ino));
        Assert.Equal(123456789ul, ino);
        Assert.Equal(0, Nfs3FileHandles.Size % 4);
        Assert.True(Nfs3FileHandles.Size <= 64);
    }

    [Fact]
    public void A_handle_with_a_changed_inode_is_not_accepted()
    {
        var handles = new Nfs3FileHandles(Volume, Key);
        var handle = new byte[Nfs3FileHandles.Size];
        handles.Encode(5, handle);
        for (var i = 0; i < handle.Length; i++)
        {
            var forged = (byte[])handle.Clone();
            forged[i] ^= 0x01;
            Assert.False(handles.TryDecode(forged, out _), $"a handle with byte {i} changed was accepted");
        }
    }

    [Fact]
    public void Handles_of_another_volume_or_key_and_garbage_are_refused()
    {
        var handle = new byte[Nfs3FileHandles.Size];
        new Nfs3FileHandles(Volume, Key).Encode(5, handle);
        Assert.False(new Nfs3FileHandles(Guid.NewGuid(), Key).TryDecode(handle, out _));
        Assert.False(new Nfs3FileHandles(Volume, RandomNumberGenerator.GetBytes(32)).TryDecode(handle, out _));
        Assert.False(new Nfs3FileHandles(Volume, Key).TryDecode(handle.AsSpan(0, 32), out _));
        Assert.False(new Nfs3FileHandles(Volume, Key).TryDecode(new byte[Nfs3FileHandles.Size], out _));
    }
}
