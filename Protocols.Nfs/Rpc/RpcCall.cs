using System.Net;

namespace Protocols.Nfs.Rpc;

/// <summary>One decoded call: header fields, credentials, and the procedure's arguments as a slice of the received record.</summary>
/// <param name="Args">Valid only until the handler's task completes: the record buffer is pooled.</param>
public readonly record struct RpcCall(
    uint Xid,
    uint Program,
    uint Version,
    uint Procedure,
    RpcCredentials Credentials,
    ReadOnlyMemory<byte> Args,
    IPEndPoint Remote,
    RpcTransport Transport);
