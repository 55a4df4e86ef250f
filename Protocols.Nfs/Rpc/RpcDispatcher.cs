using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Rpc;

/// <summary>What became of one received record.</summary>
public enum RpcOutcome : byte
{
    /// <summary>A reply was written and should be sent.</summary>
    Reply,
    /// <summary>Nothing to send (a reply message arrived, which a server ignores).</summary>
    Ignore,
    /// <summary>The record is not an RPC message at all; a stream transport should close the connection.</summary>
    Malformed,
}

/// <summary>
/// Decodes call headers, checks versions and credentials, routes to the program and writes the reply header, with the
/// rejections RFC 5531 prescribes: RPC_MISMATCH, AUTH_ERROR, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS.
/// Shared by every transport and port.
/// </summary>
public sealed class RpcDispatcher(IEnumerable<IRpcProgram> programs, ILogger logger)
{
    private readonly Dictionary<uint, IRpcProgram> _programs = programs.ToDictionary(p => p.Program);

    /// <summary>
    /// Handles one record, writing the reply at the writer's current position. <paramref name="credentialCache"/> holds
    /// the last AUTH_SYS body and its parse (one per connection), so a client repeating its credentials costs no allocation.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RpcOutcome> DispatchAsync(
        ReadOnlyMemory<byte> record, IPEndPoint remote, RpcTransport transport, XdrWriter reply,
        RpcCredentialCache? credentialCache, CancellationToken ct)
    {
        var reader = new XdrReader(record);
        uint xid, messageType;
        try
        {
            xid = reader.ReadUInt32();
            messageType = reader.ReadUInt32();
        }
        catch (XdrException)
        {
            return RpcOutcome.Malformed;
        }
        if (messageType == RpcProtocol.MsgReply)
            return RpcOutcome.Ignore;
        if (messageType != RpcProtocol.MsgCall)
            return RpcOutcome.Malformed;

        reply.WriteUInt32(xid);
        reply.WriteUInt32(RpcProtocol.MsgReply);

        uint rpcVersion, program, version, procedure;
        RpcCredentials credentials;
        try
        {
            rpcVersion = reader.ReadUInt32();
            if (rpcVersion != RpcProtocol.Version)
            {
                reply.WriteUInt32(RpcProtocol.ReplyDenied);
                reply.WriteUInt32(RpcProtocol.RejectRpcMismatch);
                reply.WriteUInt32(RpcProtocol.Version);
                reply.WriteUInt32(RpcProtocol.Version);
                return RpcOutcome.Reply;
            }
            program = reader.ReadUInt32();
            version = reader.ReadUInt32();
            procedure = reader.ReadUInt32();
            var credFlavor = (AuthFlavor)reader.ReadUInt32();
            var credBody = reader.ReadOpaque(RpcProtocol.MaxAuthBytes);
            reader.ReadUInt32(); // verifier flavor: AUTH_SYS and AUTH_NONE verifiers carry nothing to check
            reader.ReadOpaque(RpcProtocol.MaxAuthBytes);
            var status = Authenticate(credFlavor, credBody, credentialCache, out credentials);
            if (status != AuthStatus.Ok)
            {
                WriteAuthError(reply, status);
                return RpcOutcome.Reply;
            }
        }
        catch (XdrException)
        {
            // The call header itself is cut short: RFC 5531 gives no better answer than that the arguments were garbage.
            WriteAccepted(reply, RpcAcceptStatus.GarbageArgs);
            return RpcOutcome.Reply;
        }

        if (!_programs.TryGetValue(program, out var target))
        {
            WriteAccepted(reply, RpcAcceptStatus.ProgUnavail);
            return RpcOutcome.Reply;
        }
        if (version < target.LowVersion || version > target.HighVersion)
        {
            WriteAccepted(reply, RpcAcceptStatus.ProgMismatch);
            reply.WriteUInt32(target.LowVersion);
            reply.WriteUInt32(target.HighVersion);
            return RpcOutcome.Reply;
        }

        var headerEnd = reply.Position;
        WriteAccepted(reply, RpcAcceptStatus.Success);
        var call = new RpcCall(xid, program, version, procedure, credentials, record[reader.Position..], remote, transport);
        RpcAcceptStatus result;
        try
        {
            result = await target.HandleAsync(call, reply, ct).ConfigureAwait(false);
        }
        catch (XdrException e)
        {
            logger.LogDebug("garbage arguments from {Remote} for program {Program} procedure {Procedure}: {Reason}", remote, program, procedure, e.Message);
            result = RpcAcceptStatus.GarbageArgs;
        }
        catch (RpcAuthException e)
        {
            reply.Position = headerEnd;
            WriteAuthError(reply, e.Status);
            return RpcOutcome.Reply;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            logger.LogError(e, "program {Program} procedure {Procedure} from {Remote} failed", program, procedure, remote);
            result = RpcAcceptStatus.SystemErr;
        }
        if (result != RpcAcceptStatus.Success)
        {
            reply.Position = headerEnd;
            WriteAccepted(reply, result);
        }
        return RpcOutcome.Reply;
    }

    private static AuthStatus Authenticate(AuthFlavor flavor, ReadOnlyMemory<byte> body, RpcCredentialCache? cache, out RpcCredentials credentials)
    {
        credentials = RpcCredentials.None;
        switch (flavor)
        {
            case AuthFlavor.None:
                return AuthStatus.Ok;
            case AuthFlavor.Sys:
                if (cache?.TryGet(body.Span, out var cached) == true)
                {
                    credentials = cached;
                    return AuthStatus.Ok;
                }
                try
                {
                    credentials = RpcCredentials.ParseSys(body);
                }
                catch (XdrException)
                {
                    return AuthStatus.BadCred;
                }
                cache?.Remember(body.Span, credentials);
                return AuthStatus.Ok;
            default:
                // RPCSEC_GSS, AUTH_DH and the rest: this server cannot verify them, so it refuses the credential outright.
                return AuthStatus.BadCred;
        }
    }

    private static void WriteAccepted(XdrWriter reply, RpcAcceptStatus status)
    {
        reply.WriteUInt32(RpcProtocol.ReplyAccepted);
        reply.WriteUInt32((uint)AuthFlavor.None);
        reply.WriteUInt32(0);
        reply.WriteUInt32((uint)status);
    }

    private static void WriteAuthError(XdrWriter reply, AuthStatus status)
    {
        reply.WriteUInt32(RpcProtocol.ReplyDenied);
        reply.WriteUInt32(RpcProtocol.RejectAuthError);
        reply.WriteUInt32((uint)status);
    }
}

/// <summary>The last AUTH_SYS credential body seen on one connection and its parse; safe for concurrent calls.</summary>
public sealed class RpcCredentialCache
{
    private Entry? _last;

    public bool TryGet(ReadOnlySpan<byte> body, out RpcCredentials credentials)
    {
        var last = Volatile.Read(ref _last);
        if (last is not null && body.SequenceEqual(last.Body))
        {
            credentials = last.Credentials;
            return true;
        }
        credentials = RpcCredentials.None;
        return false;
    }

    public void Remember(ReadOnlySpan<byte> body, RpcCredentials credentials) =>
        Volatile.Write(ref _last, new Entry(body.ToArray(), credentials));

    private sealed record Entry(byte[] Body, RpcCredentials Credentials);
}
