using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Fs.Core.Vfs;

namespace Protocols.Fuse.Kernel;

/// <summary>
/// One request read from /dev/fuse, in a pooled pinned buffer sized for the largest WRITE. The reply is built in the
/// same buffer (after the input has been decoded), so a request and its reply cost no allocation.
/// </summary>
internal sealed class FuseRequest
{
    public FuseRequest(int bufferSize) => Buffer = GC.AllocateUninitializedArray<byte>(bufferSize, pinned: true);

    public byte[] Buffer { get; }

    public int Length { get; private set; }

    public FuseInHeader Header;

    public FuseOpcode Opcode => Header.Opcode;

    public ulong NodeId => Header.NodeId;

    /// <summary>Cancelled when the kernel interrupts this request (only for requests that can wait: SETLKW).</summary>
    public CancellationToken Cancellation { get; set; }

    public bool Replied { get; private set; }

    internal FuseDevice? Device { get; private set; }

    public int PayloadLength => Length - FuseInHeader.Size;

    public ReadOnlySpan<byte> Payload => Buffer.AsSpan(FuseInHeader.Size, PayloadLength);

    /// <summary>Room for the reply body (after the out header).</summary>
    public Span<byte> ReplyBody => Buffer.AsSpan(FuseOutHeader.Size);

    public Memory<byte> ReplyBodyMemory => Buffer.AsMemory(FuseOutHeader.Size);

    /// <summary>Takes the request that was just read into <see cref="Buffer"/>; false when it is too short to be one.</summary>
    public bool Accept(FuseDevice device, int length)
    {
        Device = device;
        Length = length;
        Replied = false;
        Cancellation = CancellationToken.None;
        if (length < FuseInHeader.Size)
            return false;
        Header = MemoryMarshal.Read<FuseInHeader>(Buffer);
        return Header.Len == length;
    }

    public bool HasInput<T>(int extra = 0) where T : unmanaged => PayloadLength >= Unsafe.SizeOf<T>() + extra;

    public T Read<T>(int offset = 0) where T : unmanaged => MemoryMarshal.Read<T>(Payload[offset..]);

    public ReadOnlyMemory<byte> PayloadMemory(int offset, int length) => Buffer.AsMemory(FuseInHeader.Size + offset, length);

    /// <summary>The NUL-terminated string at <paramref name="offset"/> of the payload; <paramref name="next"/> is just past its NUL.</summary>
    public string? ReadString(int offset, out int next)
    {
        next = offset;
        if (offset >= PayloadLength)
            return null;
        var rest = Payload[offset..];
        var nul = rest.IndexOf((byte)0);
        if (nul < 0)
            return null;
        next = offset + nul + 1;
        return Encoding.UTF8.GetString(rest[..nul]);
    }

    public void Reply(int bodyLength) => Send(0, bodyLength);

    public void Reply<T>(in T body) where T : unmanaged
    {
        MemoryMarshal.Write(ReplyBody, in body);
        Send(0, Unsafe.SizeOf<T>());
    }

    /// <summary>
    /// Replies with the bytes of <paramref name="view"/> as the body, written from where they lie (one writev), or copied
    /// behind the header when they are in too many pieces for one writev. The caller still disposes the view.
    /// </summary>
    public void Reply(ReadView view)
    {
        if (view.Segments.Count + 1 > FuseDevice.MaxVectors)
        {
            view.CopyTo(ReplyBody);
            Reply(view.Length);
            return;
        }
        var header = new FuseOutHeader { Len = (uint)(FuseOutHeader.Size + view.Length), Error = 0, Unique = Header.Unique };
        MemoryMarshal.Write(Buffer, in header);
        Replied = true;
        Device!.Write(Buffer.AsSpan(0, FuseOutHeader.Size), view.Segments);
    }

    /// <summary>Replies with -errno (a positive errno value is expected).</summary>
    public void Fail(int errno) => Send(-errno, 0);

    private void Send(int error, int bodyLength)
    {
        var header = new FuseOutHeader { Len = (uint)(FuseOutHeader.Size + bodyLength), Error = error, Unique = Header.Unique };
        MemoryMarshal.Write(Buffer, in header);
        Replied = true;
        // ENOENT: the kernel gave up on the request (interrupted); ENODEV: the mount is gone. Neither needs an answer.
        Device!.Write(Buffer.AsSpan(0, FuseOutHeader.Size + bodyLength));
    }
}
