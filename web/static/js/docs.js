// Swagger UI for /api/openapi.json, every file from this server (no validator badge, no CDN).
window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
