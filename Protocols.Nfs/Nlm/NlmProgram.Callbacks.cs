using System.Net;
using Microsoft.Extensions.Logging;
using Protocols.Nfs.Portmap;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nlm;

public sealed partial class NlmProgram
{
    private static readonly TimeSpan CallbackTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Calls the client's own lock manager (GRANTED_MSG, the _RES answers), found through the client's portmapper.
    /// Best effort: a client behind NAT or without a portmapper is not reachable, and then retries its LOCK by itself.
    /// </summary>
    private async Task CallClientAsync(IPAddress client, uint procedure, Action<XdrWriter> writeArgs, CancellationToken ct)
    {
        try
        {
            var portmap = new IPEndPoint(client, 111);
            var port = await RpcUdpClient.CallAsync(portmap, PortmapProgram.ProgramNumber, 2, 3, w =>
            {
                w.WriteUInt32(ProgramNumber);
                w.WriteUInt32(4);
                w.WriteUInt32(PortmapProtocol.Udp);
                w.WriteUInt32(0);
            }, CallbackTimeout, 2, ct).ConfigureAwait(false);
            if (port is not { Length: 4 } || (port[0] | port[1] | port[2] | port[3]) == 0)
            {
                _logger.LogDebug("no NLM service registered at {Client}; it will retry on its own", client);
                return;
            }
            var nlm = new IPEndPoint(client, (port[2] << 8) | port[3]);
            // _MSG callbacks have no reply body; a missing reply is not an error, so one short attempt is enough.
            await RpcUdpClient.CallAsync(nlm, ProgramNumber, 4, procedure, writeArgs, CallbackTimeout, 1, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            _logger.LogDebug("NLM callback {Procedure} to {Client} failed: {Reason}", procedure, client, e.Message);
        }
    }
}
