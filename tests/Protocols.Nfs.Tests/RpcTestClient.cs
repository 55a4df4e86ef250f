using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Tests;

/// <summary>A decoded RPC reply as a client sees it.</summary>
public sealed record RpcReply(uint Xid, bool Accepted, uint Status, byte[] Body)
{
    /// <summary>accept_stat when accepted; reject_stat (then auth_stat or the version range in the body) when denied.</summary>
    public RpcAcceptStatus AcceptStatus => Accepted ? (RpcAcceptStatus)Status : throw new InvalidOperationException("denied");

    public XdrReader Reader() => new(Body);
}

/// <summary>
/// A small ONC RPC client over TCP with record marking, written for the tests: many calls in flight, replies matched
/// by xid, fragments of any size, and raw bytes for malformed-input tests.
/// </summary>
public sealed class RpcTestClient : IAsyncDisposable
{
    private readonly TcpClient _tcp = new();
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<RpcReply>> _pending = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private NetworkStream? _stream;
    private Task? _reader;
    private uint _xid = 1000;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public uint Uid { get; set; }

    public uint Gid { get; set; }

    public uint[] Groups { get; set; } = [];

    public static async Task<RpcTestClient> ConnectAsync(int port)
    {
        var client = new RpcTestClient();
        await client._tcp.ConnectAsync(IPAddress.Loopback, port);
        client._stream = client._tcp.GetStream();
        client._reader = Task.Run(client.ReadLoopAsync);
        return client;
    }

    /// <summary>Completes when the server closes the connection.</summary>
    public Task Closed => _closed.Task;

    public Task<RpcReply> CallAsync(uint program, uint version, uint procedure, Action<XdrWriter>? args = null, int fragmentSize = int.MaxValue)
    {
        var (xid, message) = Encode(program, version, procedure, args);
        return SendAsync(xid, message, fragmentSize);
    }

    /// <summary>Sends several calls, each one record, in a single write, so the server finds them all waiting at once.</summary>
    public async Task<Task<RpcReply>[]> CallTogetherAsync(uint program, uint version, params uint[] procedures)
    {
        var replies = new Task<RpcReply>[procedures.Length];
        using var records = new XdrWriter();
        for (var i = 0; i < procedures.Length; i++)
        {
            var (xid, message) = Encode(program, version, procedures[i], null);
            var tcs = new TaskCompletionSource<RpcReply>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[xid] = tcs;
            replies[i] = tcs.Task;
            records.WriteUInt32(0x8000_0000u | (uint)message.Length);
            records.WriteFixedOpaque(message);
        }
        await _writeLock.WaitAsync();
        try
        {
            await _stream!.WriteAsync(records.WrittenMemory);
        }
        finally
        {
            _writeLock.Release();
        }
        return replies;
    }

    private (uint Xid, byte[] Message) Encode(uint program, uint version, uint procedure, Action<XdrWriter>? args)
    {
        var xid = Interlocked.Increment(ref _xid);
        using var call = new XdrWriter();
        call.WriteUInt32(xid);
        call.WriteUInt32(0);
        call.WriteUInt32(2);
        call.WriteUInt32(program);
        call.WriteUInt32(version);
        call.WriteUInt32(procedure);
        WriteAuthSys(call);
        call.WriteUInt32(0);
        call.WriteUInt32(0);
        args?.Invoke(call);
        return (xid, call.WrittenSpan.ToArray());
    }

    /// <summary>Sends an already encoded message (starting with the xid) and waits for the reply to that xid.</summary>
    public async Task<RpcReply> SendAsync(uint xid, byte[] message, int fragmentSize = int.MaxValue)
    {
        var tcs = new TaskCompletionSource<RpcReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[xid] = tcs;
        await SendRecordAsync(message, fragmentSize);
        var done = await Task.WhenAny(tcs.Task, _closed.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        if (done != tcs.Task)
            throw new IOException(done == _closed.Task ? "the server closed the connection" : "no reply within 30 s");
        return await tcs.Task;
    }

    public async Task SendRecordAsync(byte[] message, int fragmentSize = int.MaxValue)
    {
        await _writeLock.WaitAsync();
        try
        {
            var offset = 0;
            do
            {
                var length = Math.Min(fragmentSize, message.Length - offset);
                var last = offset + length == message.Length;
                var mark = new byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(mark, (last ? 0x8000_0000u : 0) | (uint)length);
                await _stream!.WriteAsync(mark);
                await _stream.WriteAsync(message.AsMemory(offset, length));
                offset += length;
            } while (offset < message.Length);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task SendRawAsync(byte[] bytes) => await _stream!.WriteAsync(bytes);

    private void WriteAuthSys(XdrWriter w)
    {
        using var body = new XdrWriter();
        body.WriteUInt32(0);
        body.WriteString("testhost");
        body.WriteUInt32(Uid);
        body.WriteUInt32(Gid);
        body.WriteUInt32((uint)Groups.Length);
        foreach (var g in Groups)
            body.WriteUInt32(g);
        w.WriteUInt32((uint)AuthFlavor.Sys);
        w.WriteOpaque(body.WrittenSpan);
    }

    private async Task ReadLoopAsync()
    {
        var header = new byte[4];
        try
        {
            while (true)
            {
                var record = new List<byte>();
                bool last;
                do
                {
                    await _stream!.ReadExactlyAsync(header);
                    var mark = BinaryPrimitives.ReadUInt32BigEndian(header);
                    last = (mark & 0x8000_0000) != 0;
                    var fragment = new byte[mark & 0x7FFF_FFFF];
                    await _stream.ReadExactlyAsync(fragment);
                    record.AddRange(fragment);
                } while (!last);
                var reply = Parse(record.ToArray());
                if (_pending.TryRemove(reply.Xid, out var tcs))
                    tcs.TrySetResult(reply);
            }
        }
        catch (Exception)
        {
            _closed.TrySetResult();
        }
    }

    private static RpcReply Parse(byte[] record)
    {
        var r = new XdrReader(record);
        var xid = r.ReadUInt32();
        Assert.Equal(1u, r.ReadUInt32());
        var accepted = r.ReadUInt32() == 0;
        if (accepted)
        {
            r.ReadUInt32();
            r.ReadOpaque(400);
        }
        var status = r.ReadUInt32();
        return new RpcReply(xid, accepted, status, record[r.Position..]);
    }

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        if (_reader is not null)
            await _reader;
    }
}
