using System.Buffers.Binary;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Tests.Rpc;

/// <summary>RPC over TCP against a real listener: framing, rejections, malformed input, concurrency and memory bounds.</summary>
public sealed class RpcFramingTests : IAsyncLifetime
{
    private const uint Prog = 400_100;
    private readonly ProbeProgram _program = new();
    private RpcTcpServer _server = null!;
    private readonly RpcConnectionLimits _limits = new() { MaxRecordBytes = 64 * 1024, MaxInFlight = 4, IdleTimeout = TimeSpan.FromSeconds(30) };

    public Task InitializeAsync()
    {
        var dispatcher = new RpcDispatcher([_program], NullLogger.Instance);
        _server = new RpcTcpServer(new IPEndPoint(IPAddress.Loopback, 0), dispatcher, _limits, NullLogger.Instance);
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<RpcTestClient> ConnectAsync() => RpcTestClient.ConnectAsync(_server.LocalEndPoint.Port);

    [Fact]
    public async Task A_call_split_over_many_fragments_is_reassembled()
    {
        await using var client = await ConnectAsync();
        var payload = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
        var reply = await client.CallAsync(Prog, 1, ProbeProgram.Echo, w => w.WriteOpaque(payload), fragmentSize: 7);
        Assert.Equal(RpcAcceptStatus.Success, reply.AcceptStatus);
        Assert.Equal(payload, reply.Reader().ReadOpaque(4096).ToArray());
    }

    [Fact]
    public async Task Replies_come_back_as_calls_complete_not_in_arrival_order()
    {
        await using var client = await ConnectAsync();
        var slow = client.CallAsync(Prog, 1, ProbeProgram.Wait);
        await _program.WaitingAsync(1);
        var fast = await client.CallAsync(Prog, 1, ProbeProgram.Echo, w => w.WriteOpaque([1]));
        Assert.Equal(RpcAcceptStatus.Success, fast.AcceptStatus);
        Assert.False(slow.IsCompleted);
        _program.Release(1);
        Assert.Equal(RpcAcceptStatus.Success, (await slow).AcceptStatus);
    }

    [Fact]
    public async Task Calls_in_flight_per_connection_are_bounded_and_the_rest_wait()
    {
        await using var client = await ConnectAsync();
        var calls = Enumerable.Range(0, 12).Select(_ => client.CallAsync(Prog, 1, ProbeProgram.Wait)).ToList();
        await _program.WaitingAsync(_limits.MaxInFlight);
        await Task.Delay(200);
        Assert.Equal(_limits.MaxInFlight, _program.MaxConcurrent);
        _program.Release(12);
        foreach (var call in calls)
            Assert.Equal(RpcAcceptStatus.Success, (await call).AcceptStatus);
        Assert.Equal(_limits.MaxInFlight, _program.MaxConcurrent);
    }

    [Fact]
    public async Task A_call_holding_its_thread_does_not_stop_the_calls_sent_behind_it()
    {
        await using var client = await ConnectAsync();
        var replies = await client.CallTogetherAsync(Prog, 1, ProbeProgram.Hold, 0);
        try
        {
            var answered = await Task.WhenAny(replies[1], Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.Same(replies[1], answered);
            Assert.False(replies[0].IsCompleted);
        }
        finally
        {
            _program.ReleaseHeld();
        }
        Assert.Equal(RpcAcceptStatus.Success, (await replies[0]).AcceptStatus);
    }

    [Fact]
    public async Task Unknown_program_version_and_procedure_get_the_rfc_5531_answers()
    {
        await using var client = await ConnectAsync();
        Assert.Equal(RpcAcceptStatus.ProgUnavail, (await client.CallAsync(Prog + 1, 1, 0)).AcceptStatus);
        var mismatch = await client.CallAsync(Prog, 9, 0);
        Assert.Equal(RpcAcceptStatus.ProgMismatch, mismatch.AcceptStatus);
        var range = mismatch.Reader();
        Assert.Equal(1u, range.ReadUInt32());
        Assert.Equal(2u, range.ReadUInt32());
        Assert.Equal(RpcAcceptStatus.ProcUnavail, (await client.CallAsync(Prog, 1, 77)).AcceptStatus);
        Assert.Equal(RpcAcceptStatus.GarbageArgs, (await client.CallAsync(Prog, 1, ProbeProgram.Echo, w => w.WriteUInt32(1000))).AcceptStatus);
    }

    [Fact]
    public async Task A_wrong_rpc_version_is_rpc_mismatch_and_unknown_credentials_are_auth_errors()
    {
        await using var client = await ConnectAsync();
        var wrongVersion = await client.SendAsync(7, Message(7, rpcVersion: 3, credFlavor: 0, credBody: []));
        Assert.False(wrongVersion.Accepted);
        Assert.Equal(0u, wrongVersion.Status); // RPC_MISMATCH
        var r = wrongVersion.Reader();
        Assert.Equal(2u, r.ReadUInt32());
        Assert.Equal(2u, r.ReadUInt32());

        var gss = await client.SendAsync(8, Message(8, 2, credFlavor: (uint)AuthFlavor.RpcSecGss, credBody: [1, 2, 3, 4]));
        Assert.False(gss.Accepted);
        Assert.Equal(1u, gss.Status); // AUTH_ERROR
        Assert.Equal((uint)AuthStatus.BadCred, gss.Reader().ReadUInt32());

        using var tooManyGroups = new XdrWriter();
        tooManyGroups.WriteUInt32(0);
        tooManyGroups.WriteString("h");
        tooManyGroups.WriteUInt32(1);
        tooManyGroups.WriteUInt32(1);
        tooManyGroups.WriteUInt32(17);
        for (var i = 0; i < 17; i++)
            tooManyGroups.WriteUInt32((uint)i);
        var groups = await client.SendAsync(9, Message(9, 2, (uint)AuthFlavor.Sys, tooManyGroups.WrittenSpan.ToArray()));
        Assert.False(groups.Accepted);
        Assert.Equal((uint)AuthStatus.BadCred, groups.Reader().ReadUInt32());

        // AUTH_NONE is accepted.
        Assert.True((await client.SendAsync(10, Message(10, 2, 0, []))).Accepted);
    }

    [Fact]
    public async Task A_call_header_cut_short_is_garbage_args_and_the_connection_keeps_working()
    {
        await using var client = await ConnectAsync();
        var full = Message(11, 2, 0, []);
        var reply = await client.SendAsync(11, full[..16]);
        Assert.Equal(RpcAcceptStatus.GarbageArgs, reply.AcceptStatus);
        Assert.Equal(RpcAcceptStatus.Success, (await client.CallAsync(Prog, 1, ProbeProgram.Echo, w => w.WriteOpaque([5]))).AcceptStatus);
    }

    [Fact]
    public async Task A_record_longer_than_the_limit_closes_the_connection_without_reading_it()
    {
        await using var client = await ConnectAsync();
        var mark = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mark, 0x8000_0000u | 0x7FFF_0000u);
        await client.SendRawAsync(mark);
        await client.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        await using var next = await ConnectAsync();
        Assert.Equal(RpcAcceptStatus.Success, (await next.CallAsync(Prog, 1, ProbeProgram.Echo, w => w.WriteOpaque([1]))).AcceptStatus);
    }

    [Fact]
    public async Task A_record_that_is_not_an_rpc_message_closes_the_connection()
    {
        await using var client = await ConnectAsync();
        await client.SendRecordAsync([1, 2, 3]);
        await client.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Fragments_adding_up_past_the_limit_close_the_connection()
    {
        await using var client = await ConnectAsync();
        var fragment = new byte[40 * 1024];
        var mark = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mark, (uint)fragment.Length);
        await client.SendRawAsync(mark);
        await client.SendRawAsync(fragment);
        await client.SendRawAsync(mark);
        await client.SendRawAsync(fragment);
        await client.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_client_vanishing_mid_record_leaves_the_server_serving()
    {
        var client = await ConnectAsync();
        var mark = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(mark, 0x8000_0000u | 1000);
        await client.SendRawAsync(mark);
        await client.SendRawAsync(new byte[10]);
        await client.DisposeAsync();
        await using var next = await ConnectAsync();
        Assert.Equal(RpcAcceptStatus.Success, (await next.CallAsync(Prog, 1, ProbeProgram.Echo, w => w.WriteOpaque([1]))).AcceptStatus);
    }

    [Fact]
    public async Task Random_garbage_never_crashes_the_server()
    {
        var random = new Random(42);
        for (var i = 0; i < 50; i++)
        {
            await using var client = await ConnectAsync();
            var junk = new byte[random.Next(1, 300)];
            random.NextBytes(junk);
            if (i % 2 == 0)
                await client.SendRawAsync(junk);
            else
                await client.SendRecordAsync(junk);
        }
        await using var last = await ConnectAsync();
        Assert.Equal(RpcAcceptStatus.Success, (await last.CallAsync(Prog, 1, ProbeProgram.Echo, w => w.WriteOpaque([1]))).AcceptStatus);
    }

    [Fact]
    public async Task An_idle_connection_is_closed()
    {
        await _server.DisposeAsync();
        var dispatcher = new RpcDispatcher([_program], NullLogger.Instance);
        _server = new RpcTcpServer(new IPEndPoint(IPAddress.Loopback, 0), dispatcher, _limits with { IdleTimeout = TimeSpan.FromMilliseconds(300) }, NullLogger.Instance);
        _server.Start();
        await using var client = await ConnectAsync();
        Assert.Equal(RpcAcceptStatus.Success, (await client.CallAsync(Prog, 1, 0)).AcceptStatus);
        await client.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static byte[] Message(uint xid, uint rpcVersion, uint credFlavor, byte[] credBody)
    {
        using var w = new XdrWriter();
        w.WriteUInt32(xid);
        w.WriteUInt32(0);
        w.WriteUInt32(rpcVersion);
        w.WriteUInt32(Prog);
        w.WriteUInt32(1);
        w.WriteUInt32(0);
        w.WriteUInt32(credFlavor);
        w.WriteOpaque(credBody);
        w.WriteUInt32(0);
        w.WriteUInt32(0);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>A program with an echo procedure and one that waits until released, counting how many run at once.</summary>
    private sealed class ProbeProgram : IRpcProgram
    {
        public const uint Echo = 1;
        public const uint Wait = 2;
        /// <summary>Blocks the thread it runs on (as a synchronous copy or query does) until <see cref="ReleaseHeld"/>.</summary>
        public const uint Hold = 3;
        private readonly SemaphoreSlim _gate = new(0);
        private readonly ManualResetEventSlim _held = new();
        private int _running;
        private int _waiting;

        public int MaxConcurrent { get; private set; }

        public uint Program => Prog;

        public uint LowVersion => 1;

        public uint HighVersion => 2;

        public void Release(int n) => _gate.Release(n);

        public void ReleaseHeld() => _held.Set();

        public async Task WaitingAsync(int n)
        {
            var until = DateTime.UtcNow.AddSeconds(10);
            while (Volatile.Read(ref _waiting) < n && DateTime.UtcNow < until)
                await Task.Delay(10);
            Assert.True(Volatile.Read(ref _waiting) >= n);
        }

        public async ValueTask<RpcAcceptStatus> HandleAsync(RpcCall call, XdrWriter reply, CancellationToken ct)
        {
            var args = new XdrReader(call.Args);
            switch (call.Procedure)
            {
                case 0:
                    return RpcAcceptStatus.Success;
                case Echo:
                    reply.WriteOpaque(args.ReadOpaque(4096).Span);
                    return RpcAcceptStatus.Success;
                case Hold:
                    _held.Wait(TimeSpan.FromSeconds(20), ct);
                    return RpcAcceptStatus.Success;
                case Wait:
                    var now = Interlocked.Increment(ref _running);
                    lock (this)
                        MaxConcurrent = Math.Max(MaxConcurrent, now);
                    Interlocked.Increment(ref _waiting);
                    await _gate.WaitAsync(ct);
                    Interlocked.Decrement(ref _running);
                    return RpcAcceptStatus.Success;
                default:
                    return RpcAcceptStatus.ProcUnavail;
            }
        }
    }
}
