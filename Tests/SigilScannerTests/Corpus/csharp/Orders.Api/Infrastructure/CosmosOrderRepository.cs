using System.Net;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;

namespace Orders.Api.Infrastructure;

/// <summary>
/// Read model for the order history page, stored in Cosmos DB (container "orders", partition key /customerId).
/// </summary>
public sealed class CosmosOrderRepository : IAsyncDisposable
{
    // Used by the nightly backfill job, which runs outside the cluster.
    private const string BackfillConnectionString = "⟦azure-cosmosdb-key⟧";
    private const string DatabaseId = "orders";
    private const string ContainerId = "orders";

    private readonly CosmosClient _client;
    private readonly Container _container;

    public CosmosOrderRepository(IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString("Cosmos")
            ?? Environment.GetEnvironmentVariable("COSMOS_CONNECTION_STRING")
            ?? BackfillConnectionString;
        _client = new CosmosClient(connectionString, new CosmosClientOptions
        {
            ApplicationName = "orders-api",
            ConnectionMode = ConnectionMode.Direct,
            SerializerOptions = new CosmosSerializationOptions { PropertyNamingPolicy = CosmosPropertyNamingPolicy.CamelCase },
        });
        _container = _client.GetContainer(DatabaseId, ContainerId);
    }

    public async Task<OrderDocument?> GetAsync(string customerId, string orderId, CancellationToken ct = default)
    {
        try
        {
            var response = await _container.ReadItemAsync<OrderDocument>(orderId, new PartitionKey(customerId), cancellationToken: ct);
            return response.Resource;
        }
        catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<OrderDocument>> ListAsync(string customerId, int max = 50, CancellationToken ct = default)
    {
        var query = new QueryDefinition("SELECT * FROM c WHERE c.customerId = @customerId ORDER BY c.createdAt DESC")
            .WithParameter("@customerId", customerId);
        var results = new List<OrderDocument>();
        using var iterator = _container.GetItemQueryIterator<OrderDocument>(query, requestOptions: new QueryRequestOptions
        {
            PartitionKey = new PartitionKey(customerId),
            MaxItemCount = max,
        });
        while (iterator.HasMoreResults && results.Count < max)
        {
            results.AddRange(await iterator.ReadNextAsync(ct));
        }
        return results;
    }

    public Task UpsertAsync(OrderDocument order, CancellationToken ct = default) =>
        _container.UpsertItemAsync(order, new PartitionKey(order.CustomerId), cancellationToken: ct);

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed record OrderDocument(string Id, string CustomerId, decimal Total, string Currency, DateTimeOffset CreatedAt, string Status);
