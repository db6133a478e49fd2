// Swagger UI for /api/openapi.json, every file from this server (no validator badge, no CDN).
// Headings in order (Lighthouse's heading-order): a visually hidden h2 names the operations
// before Swagger's h3 tags, under its h1 title.
const OPERATIONS = document.documentElement.lang === 'en' ? 'Operations' : '接口';
const headingsInOrder = () => ({
  wrapComponents: {
    operations: (Original, system) => (props) => system.React.createElement(
      'div', null,
      system.React.createElement('h2', {className: 'sr-only'}, OPERATIONS),
      system.React.createElement(Original, props),
    ),
  },
});
window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  plugins: [headingsInOrder],
  layout: 'BaseLayout',
});
