-- The version each layer's last data.changed event announced (events are kept 48 h).
SELECT DISTINCT ON (e.data ->> 'layer') e.data ->> 'layer' AS layer, e.data ->> 'version' AS version
FROM events e
WHERE e.type = 'data.changed'
ORDER BY e.data ->> 'layer', e.id DESC
