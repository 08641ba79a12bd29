package com.acme.inventory

import io.ktor.client.HttpClient
import io.ktor.client.call.body
import io.ktor.client.engine.cio.CIO
import io.ktor.client.plugins.contentnegotiation.ContentNegotiation
import io.ktor.client.request.header
import io.ktor.client.request.post
import io.ktor.client.request.setBody
import io.ktor.http.ContentType
import io.ktor.http.contentType
import io.ktor.serialization.kotlinx.json.json
import io.sentry.Sentry
import kotlinx.serialization.Serializable
import kotlinx.serialization.json.JsonObject

private const val NERDGRAPH_URL = "https://api.eu.newrelic.com/graphql"

// Personal key of the platform team bot user; needed for deployment markers.
private const val NEW_RELIC_USER_KEY = "⟦newrelic-user-api-key⟧"

// The DSN is a public client key, safe to ship.
private const val SENTRY_DSN = "https://73381f412a0a4f9fa423350b233931da@o450123.ingest.sentry.io/5523140"

@Serializable
data class GraphQLRequest(val query: String, val variables: Map<String, String> = emptyMap())

@Serializable
data class GraphQLResponse(val data: JsonObject? = null, val errors: List<JsonObject>? = null)

object Monitoring {
    private val client = HttpClient(CIO) {
        install(ContentNegotiation) { json() }
    }

    fun initSentry(environment: String) {
        Sentry.init { options ->
            options.dsn = System.getenv("SENTRY_DSN") ?: SENTRY_DSN
            options.environment = environment
            options.tracesSampleRate = 0.1
        }
    }

    suspend fun recordDeployment(entityGuid: String, version: String, user: String): Boolean {
        val mutation = """
            mutation(${'$'}guid: EntityGuid!, ${'$'}version: String!, ${'$'}user: String!) {
              changeTrackingCreateDeployment(deployment: { entityGuid: ${'$'}guid, version: ${'$'}version, user: ${'$'}user }) {
                deploymentId
              }
            }
        """.trimIndent()
        val response: GraphQLResponse = client.post(NERDGRAPH_URL) {
            header("API-Key", System.getenv("NEW_RELIC_API_KEY") ?: NEW_RELIC_USER_KEY)
            contentType(ContentType.Application.Json)
            setBody(GraphQLRequest(mutation, mapOf("guid" to entityGuid, "version" to version, "user" to user)))
        }.body()
        return response.errors.isNullOrEmpty()
    }
}
