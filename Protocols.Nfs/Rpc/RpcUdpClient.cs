using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Rpc;

/// <summary>
/// Makes one RPC call over UDP and waits for its reply, retrying a few times: how the server calls back into a client
/// (NLM GRANTED and the _RES answers to _MSG calls) and asks the client's portmapper where its lock manager listens.
/// </summary>
public static class RpcUdpClient
{
    /// <summary>Calls and returns the result body of a SUCCESS reply, or null when the peer did not answer or refused.</summary>
    public static async Task<byte[]?> CallAsync(
        IPEndPoint peer, uint program, uint version, uint procedure, Action<XdrWriter> writeArgs,
        TimeSpan timeout, int attempts, CancellationToken ct)
    {
        using var socket = new Socket(peer.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        var xid = (uint)RandomNumberGenerator.GetInt32(int.MaxValue);
        using var call = new XdrWriter();
        call.WriteUInt32(xid);
        call.WriteUInt32(RpcProtocol.MsgCall);
        call.WriteUInt32(RpcProtocol.Version);
        call.WriteUInt32(program);
        call.WriteUInt32(version);
        call.WriteUInt32(procedure);
        call.WriteUInt32((uint)AuthFlavor.None);
        call.WriteUInt32(0);
        call.WriteUInt32((uint)AuthFlavor.None);
        call.WriteUInt32(0);
        writeArgs(call);
        var buffer = new byte[65536];
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            await socket.SendToAsync(call.WrittenMemory, SocketFlags.None, peer, ct).ConfigureAwait(false);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(timeout);
            try
            {
                while (true)
                {
                    var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, peer, wait.Token).ConfigureAwait(false);
                    var body = ParseReply(buffer.AsMemory(0, received.ReceivedBytes), xid);
                    if (body.Matched)
                        return body.Result;
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
            }
            catch (SocketException)
            {
                // ICMP unreachable: nobody listens there; no point retrying.
                return null;
            }
        }
        return null;
    }

    private static (bool Matched, byte[]? Result) ParseReply(ReadOnlyMemory<byte> datagram, uint xid)
    {
        try
        {
            var reader = new XdrReader(datagram);
            if (reader.ReadUInt32() != xid || reader.ReadUInt32() != RpcProtocol.MsgReply)
                return (false, null);
            if (reader.ReadUInt32() != RpcProtocol.ReplyAccepted)
                return (true, null);
            reader.ReadUInt32();
            reader.ReadOpaque(RpcProtocol.MaxAuthBytes);
            if (reader.ReadUInt32() != (uint)RpcAcceptStatus.Success)
                return (true, null);
            return (true, datagram[reader.Position..].ToArray());
        }
        catch (XdrException)
        {
            return (false, null);
        }
    }
}
