using System.Net.Sockets;
using System.Text;

namespace Protocols.WebDav.Tests;

/// <summary>Sends requests byte for byte, for targets an HttpClient would normalise (dot segments, backslashes) and for aborted uploads.</summary>
internal static class RawHttp
{
    public static async Task<int> StatusAsync(Uri server, string method, string target, string? extraHeaders = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        var request = $"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Length: 0\r\nConnection: close\r\n{extraHeaders}\r\n";
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.Latin1);
        var statusLine = await reader.ReadLineAsync() ?? "";
        var parts = statusLine.Split(' ');
        return parts.Length >= 2 && int.TryParse(parts[1], out var status) ? status : -1;
    }

    /// <summary>Starts a PUT that promises <paramref name="promised"/> bytes, sends only <paramref name="sent"/>, and drops the connection.</summary>
    public static async Task AbortedPutAsync(Uri server, string target, int promised, byte[] sent)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes($"PUT {target} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Length: {promised}\r\n\r\n"));
        await stream.WriteAsync(sent);
        await stream.FlushAsync();
        await Task.Delay(100);
        tcp.Client.LingerState = new LingerOption(true, 0);
        tcp.Close();
    }
}
